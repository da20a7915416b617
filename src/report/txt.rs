//! The site's boundary as a 界址点坐标 TXT (GBK) through the strict writer, numbered exactly as
//! the checklist's 界址点 table, with the 带号 prefix on the eastings as land approval expects.

use crate::checklist::Checklist;
use crate::crs::Crs;
use crate::import::jzd_txt::{
    self, Datum, JzdFile, JzdHeader, JzdParcel, JzdPoint, JzdRing, TxtEncoding,
};

use super::ReportError;

/// Writes the checklist's site boundary as a 界址点 TXT file in GBK.
pub fn render_txt(c: &Checklist) -> Result<Vec<u8>, ReportError> {
    let zone = c
        .site
        .crs
        .parse::<Crs>()
        .ok()
        .and_then(|crs| crs.gk_zone())
        .ok_or_else(|| ReportError::Render(format!("{} is not a Gauss–Krüger CRS", c.site.crs)))?;
    let zone_no = (zone.central_meridian / f64::from(zone.zone_width)).round() as u32;
    let prefix = f64::from(zone_no) * 1.0e6;
    let mut rings: Vec<JzdRing> = Vec::new();
    for p in &c.site.boundary {
        if rings.last().map(|r| r.ring_no) != Some(p.ring) {
            rings.push(JzdRing {
                ring_no: p.ring,
                points: Vec::new(),
            });
        }
        if let Some(r) = rings.last_mut() {
            r.points.push(JzdPoint {
                name: p.name.clone(),
                x: p.x,
                y: p.y + prefix,
                line: 0,
            });
        }
    }
    let points = rings.iter().map(|r| r.points.len()).sum();
    let header = JzdHeader {
        entries: vec![
            ("格式版本号".to_string(), "1.00版本".to_string()),
            ("数据产生单位".to_string(), c.issuer.clone()),
            (
                "数据产生日期".to_string(),
                c.issued_at.get(..10).unwrap_or_default().to_string(),
            ),
            ("坐标系".to_string(), "2000国家大地坐标系".to_string()),
            ("几度分带".to_string(), zone.zone_width.to_string()),
            ("投影类型".to_string(), "高斯克吕格".to_string()),
            ("计量单位".to_string(), "米".to_string()),
            ("带号".to_string(), zone_no.to_string()),
            ("精度".to_string(), "0.001".to_string()),
            ("转换参数".to_string(), ",,,,,,".to_string()),
        ],
        datum: Datum::Cgcs2000,
        zone_width: Some(zone.zone_width),
        zone: Some(zone_no),
        precision: Some(0.001),
        unit: Some("米".to_string()),
        transform_params: None,
    };
    let parcel = JzdParcel {
        line: 0,
        declared_points: Some(points),
        declared_area: Some((c.site.ellipsoidal_area_m2 / 10_000.0 * 1e4).round() / 1e4),
        id: c.site.id.clone(),
        name: c.site.name.clone(),
        shape: "面".to_string(),
        sheet: String::new(),
        usage: String::new(),
        class_code: String::new(),
        rings,
    };
    let file = JzdFile {
        header,
        parcels: vec![parcel],
        warnings: Vec::new(),
    };
    jzd_txt::write(&file, TxtEncoding::Gbk).map_err(|e| ReportError::Render(e.to_string()))
}
