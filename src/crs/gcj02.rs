//! GCJ-02 ("Mars" coordinates of Chinese web maps) ↔ WGS84.

/// GCJ-02 → WGS84. Identity until the exact inverse lands.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    (lon, lat)
}
