//! 界址点坐标 TXT: the boundary-point files that land approval (国土 报批 / 勘测定界) exchanges.
//!
//! The format has no formal standard, only a de-facto one (domain BRIEF §5.4), and real files
//! stray from it in many ways: GBK or UTF-8 (with or without BOM), CRLF or LF, 面积 in 公顷 or m²,
//! 点数 with or without the closing point, point names with or without `J`, spaces after commas,
//! eastings with or without the 带号 prefix whatever the header says, X/Y swapped, extra sections.
//! [`parse`] accepts all of that and reports what it had to tolerate as [`JzdWarning`]s; the
//! coordinates are kept exactly as written, because deciding the CRS (prefix, swap) is the
//! caller's job and needs the header and the magnitudes together ([`JzdFile::looks_swapped`]).
//!
//! [`write`] is strict, so that what lantu hands back to an approval office is the canonical form:
//! standard header keys, 点数 counting closing points, 面积 in 公顷 with 4 decimals, coordinates
//! with the decimals 精度 implies, X = northing first, closed rings, CRLF, GBK by default. Writing
//! is idempotent: `write(parse(write(x)))` equals `write(x)` byte for byte.

use std::fmt;

use encoding_rs::{DecoderResult, Encoding, GBK};
use geo::{Area, Contains, Coord, LineString, MultiPolygon, Polygon};
use thiserror::Error;

/// Everything that makes a TXT file unreadable, or a parcel unusable or unwritable.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum JzdError {
    #[error("line 1: the file is empty")]
    Empty,
    #[error(
        "line {line}: the file is neither UTF-8 nor GBK text (byte 0x{byte:02X} cannot be decoded)"
    )]
    NotDecodable { line: usize, byte: u8 },
    #[error("line {line}: no [地块坐标] section (the file ends without one)")]
    NoCoordinateSection { line: usize },
    #[error(
        "line {line}: the [地块坐标] section holds no parcel header (`点数,面积,地块编号,…,@`)"
    )]
    NoParcels { line: usize },
    #[error("line {line}: 点数 `{text}` in the parcel header is not a whole number")]
    BadPointCount { line: usize, text: String },
    #[error("line {line}: point line `{text}` has {found} field(s); it needs 4 (点号,圈号,X,Y)")]
    TooFewFields {
        line: usize,
        text: String,
        found: usize,
    },
    #[error("line {line}: 圈号 `{text}` is not a whole number")]
    BadRingNumber { line: usize, text: String },
    #[error("line {line}: {axis} coordinate `{text}` is not a number")]
    BadCoordinate {
        line: usize,
        axis: &'static str,
        text: String,
    },
    #[error("line {line}: {axis} coordinate `{text}` is not finite")]
    NonFiniteCoordinate {
        line: usize,
        axis: &'static str,
        text: String,
    },
    #[error("line {line}: point line `{text}` comes before any parcel header (`…,@`)")]
    PointBeforeParcel { line: usize, text: String },
    #[error("line {line}: parcel `{id}` has no points")]
    ParcelWithoutPoints { line: usize, id: String },
    #[error(
        "line {line}: parcel `{id}` ring {ring_no} has {distinct} distinct point(s); a polygon ring needs at least 3"
    )]
    DegenerateRing {
        line: usize,
        id: String,
        ring_no: u32,
        distinct: usize,
    },
    #[error("line {line}: parcel `{id}` has 图形属性 `{shape}`, not a polygon (面)")]
    NotAPolygon {
        line: usize,
        id: String,
        shape: String,
    },
    #[error(
        "output line {line}: {what} `{text}` holds a comma, `=` or line break, which the format cannot carry"
    )]
    Unwritable {
        line: usize,
        what: &'static str,
        text: String,
    },
    #[error("output line {line}: `{ch}` has no GBK encoding; write UTF-8 instead")]
    NotGbk { line: usize, ch: char },
}

/// The geodetic datum named by `坐标系`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datum {
    Cgcs2000,
    Xian80,
    Beijing54,
    /// The header's text when it names none of the above; empty when the header has no `坐标系`.
    Unknown(String),
}

impl Default for Datum {
    fn default() -> Self {
        Datum::Unknown(String::new())
    }
}

impl Datum {
    fn parse(value: &str) -> Datum {
        let v = value.trim();
        let upper = v.to_ascii_uppercase();
        if v.contains("2000") || upper.contains("CGCS") {
            Datum::Cgcs2000
        } else if v.contains("西安") || upper.contains("XIAN") || v.contains("80") {
            Datum::Xian80
        } else if v.contains("北京") || upper.contains("BEIJING") || v.contains("54") {
            Datum::Beijing54
        } else {
            Datum::Unknown(v.to_string())
        }
    }

    /// The name the writer puts in `坐标系`.
    pub fn header_name(&self) -> &str {
        match self {
            Datum::Cgcs2000 => "2000国家大地坐标系",
            Datum::Xian80 => "80西安坐标系",
            Datum::Beijing54 => "54北京坐标系",
            Datum::Unknown(s) => s,
        }
    }
}

/// The `[属性描述]` section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JzdHeader {
    /// Every `key=value` of `[属性描述]`, in file order, trimmed.
    pub entries: Vec<(String, String)>,
    pub datum: Datum,
    /// `几度分带`: 3 or 6.
    pub zone_width: Option<u8>,
    /// `带号`.
    pub zone: Option<u32>,
    /// `精度`, e.g. 0.001.
    pub precision: Option<f64>,
    /// `计量单位`, e.g. 米.
    pub unit: Option<String>,
    /// `转换参数`, only when all seven values are present.
    pub transform_params: Option<[f64; 7]>,
}

impl JzdHeader {
    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One boundary point as written.
#[derive(Debug, Clone, PartialEq)]
pub struct JzdPoint {
    pub name: String,
    /// First coordinate as written (normally the northing).
    pub x: f64,
    /// Second coordinate as written (normally the easting, maybe with the zone prefix).
    pub y: f64,
    /// 1-based source line; 0 for points not read from a file.
    pub line: usize,
}

/// One ring (圈) of a parcel, points as written, closing point kept if present.
#[derive(Debug, Clone, PartialEq)]
pub struct JzdRing {
    pub ring_no: u32,
    pub points: Vec<JzdPoint>,
}

impl JzdRing {
    fn is_closed(&self) -> bool {
        is_closed(&self.points)
    }

    fn first_line(&self) -> usize {
        self.points.first().map_or(0, |p| p.line)
    }

    fn distinct_points(&self) -> usize {
        let mut xy: Vec<(f64, f64)> = self.points.iter().map(|p| (p.x, p.y)).collect();
        xy.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        xy.dedup();
        xy.len()
    }
}

fn is_closed(points: &[JzdPoint]) -> bool {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => points.len() >= 4 && a.x == b.x && a.y == b.y,
        _ => false,
    }
}

/// One parcel: its `…,@` header line and its rings.
#[derive(Debug, Clone, PartialEq)]
pub struct JzdParcel {
    /// 1-based line of the parcel header; 0 for parcels not read from a file.
    pub line: usize,
    pub declared_points: Option<usize>,
    /// 面积 as written (公顷 or m²; see [`JzdWarning::AreaMismatch`] for the unit guessed).
    pub declared_area: Option<f64>,
    pub id: String,
    pub name: String,
    /// 图形属性: 面, 线 or 点.
    pub shape: String,
    pub sheet: String,
    pub usage: String,
    pub class_code: String,
    pub rings: Vec<JzdRing>,
}

/// The order of the two coordinate columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AxisOrder {
    /// X = northing, Y = easting: the survey convention.
    #[default]
    NorthEast,
    /// X = easting, Y = northing: a swapped file.
    EastNorth,
}

/// The unit a declared 面积 was taken to be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaUnit {
    Hectare,
    SquareMetre,
}

impl AreaUnit {
    fn m2(self, value: f64) -> f64 {
        match self {
            AreaUnit::Hectare => value * 1.0e4,
            AreaUnit::SquareMetre => value,
        }
    }
}

impl fmt::Display for AreaUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AreaUnit::Hectare => "公顷",
            AreaUnit::SquareMetre => "m²",
        })
    }
}

/// Text encodings the writer can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxtEncoding {
    #[default]
    Gbk,
    Utf8,
}

/// Something the parser tolerated but the user should know about.
#[derive(Debug, Clone, PartialEq)]
pub enum JzdWarning {
    /// A polygon ring whose last point is not its first; readers close it.
    RingNotClosed {
        id: String,
        line: usize,
        ring_no: u32,
        ring_line: usize,
    },
    /// 点数 matches neither the count with closing points nor the count without.
    PointCountMismatch {
        id: String,
        line: usize,
        declared: usize,
        with_closing: usize,
        without_closing: usize,
    },
    /// 面积 differs from the planar area of the rings by more than 0.1 %.
    AreaMismatch {
        id: String,
        line: usize,
        declared: f64,
        unit: AreaUnit,
        declared_m2: f64,
        computed_m2: f64,
    },
    /// 面积 is not a number; it was ignored.
    AreaUnreadable {
        id: String,
        line: usize,
        text: String,
    },
    /// A header value that should be a number is not; it was ignored.
    HeaderValueUnreadable {
        line: usize,
        key: String,
        value: String,
    },
    /// A line that is neither a section, an entry, a parcel header nor a point.
    IgnoredLine { line: usize, text: String },
    /// Some eastings carry the 带号 prefix and some do not.
    MixedZonePrefix {
        prefixed: usize,
        unprefixed: usize,
        /// The first line of the less common kind.
        line: usize,
    },
}

fn parcel_label(id: &str) -> String {
    if id.is_empty() {
        "parcel (no 地块编号)".to_string()
    } else {
        format!("parcel `{id}`")
    }
}

impl fmt::Display for JzdWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JzdWarning::RingNotClosed {
                id,
                line,
                ring_no,
                ring_line,
            } => write!(
                f,
                "line {line}: {} ring {ring_no} (from line {ring_line}) is not closed; closed automatically",
                parcel_label(id)
            ),
            JzdWarning::PointCountMismatch {
                id,
                line,
                declared,
                with_closing,
                without_closing,
            } => write!(
                f,
                "line {line}: {} declares 点数 {declared} but has {with_closing} points \
                 ({without_closing} without closing points)",
                parcel_label(id)
            ),
            JzdWarning::AreaMismatch {
                id,
                line,
                declared,
                unit,
                declared_m2,
                computed_m2,
            } => {
                let rel = if *computed_m2 > 0.0 {
                    (declared_m2 - computed_m2) / computed_m2 * 100.0
                } else {
                    100.0
                };
                write!(
                    f,
                    "line {line}: {} declares 面积 {declared} (read as {unit}: {declared_m2:.2} m²) \
                     but its rings give {computed_m2:.2} m² ({rel:+.2} %)",
                    parcel_label(id)
                )
            }
            JzdWarning::AreaUnreadable { id, line, text } => write!(
                f,
                "line {line}: {} has 面积 `{text}`, not a number; ignored",
                parcel_label(id)
            ),
            JzdWarning::HeaderValueUnreadable { line, key, value } => {
                write!(
                    f,
                    "line {line}: header {key}=`{value}` is not a number; ignored"
                )
            }
            JzdWarning::IgnoredLine { line, text } => {
                write!(
                    f,
                    "line {line}: `{text}` is not part of the format; ignored"
                )
            }
            JzdWarning::MixedZonePrefix {
                prefixed,
                unprefixed,
                line,
            } => write!(
                f,
                "line {line}: {prefixed} eastings carry the 带号 prefix and {unprefixed} do not; \
                 the file mixes two coordinate frames"
            ),
        }
    }
}

/// A parsed TXT file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JzdFile {
    pub header: JzdHeader,
    pub parcels: Vec<JzdParcel>,
    pub warnings: Vec<JzdWarning>,
}

/// Gauss–Krüger easting: 6 digits, or 8 with a 2-digit 带号 (13–23 for 6° zones, 25–45 for 3°).
fn looks_easting(v: f64) -> bool {
    let plain = |e: f64| (1.0e5..=9.0e5).contains(&e);
    if plain(v) {
        return true;
    }
    let zone = (v / 1.0e6).floor();
    (13.0..=45.0).contains(&zone) && plain(v - zone * 1.0e6)
}

/// Gauss–Krüger northing in China: 7 digits.
fn looks_northing(v: f64) -> bool {
    (1.0e6..=6.0e6).contains(&v)
}

impl JzdFile {
    /// True when, for most points, the first column looks like an easting and the second like a
    /// northing.
    pub fn looks_swapped(&self) -> bool {
        let (mut total, mut swapped) = (0usize, 0usize);
        for p in self.points() {
            total += 1;
            if looks_easting(p.x) && looks_northing(p.y) {
                swapped += 1;
            }
        }
        total > 0 && swapped * 2 > total
    }

    fn points(&self) -> impl Iterator<Item = &JzdPoint> {
        self.parcels
            .iter()
            .flat_map(|p| p.rings.iter())
            .flat_map(|r| r.points.iter())
    }
}

fn is_polygon_shape(shape: &str) -> bool {
    !matches!(shape.trim(), "线" | "点")
}

impl JzdParcel {
    /// Rings as (easting, northing) coordinates in the file's own frame; ring 1 outer; later rings
    /// become holes when inside an earlier outer ring of this parcel (and not inside one of its
    /// holes), else new parts (multi-part).
    pub fn to_multipolygon(&self, order: AxisOrder) -> Result<MultiPolygon<f64>, JzdError> {
        if !is_polygon_shape(&self.shape) {
            return Err(JzdError::NotAPolygon {
                line: self.line,
                id: self.id.clone(),
                shape: self.shape.clone(),
            });
        }
        if self.rings.iter().all(|r| r.points.is_empty()) {
            return Err(JzdError::ParcelWithoutPoints {
                line: self.line,
                id: self.id.clone(),
            });
        }
        for r in &self.rings {
            let distinct = r.distinct_points();
            if distinct < 3 {
                return Err(JzdError::DegenerateRing {
                    line: if r.first_line() > 0 {
                        r.first_line()
                    } else {
                        self.line
                    },
                    id: self.id.clone(),
                    ring_no: r.ring_no,
                    distinct,
                });
            }
        }
        Ok(group_rings(
            self.rings.iter().map(|r| ring_coords(r, order)),
        ))
    }

    /// Planar (shoelace) area in m² of the rings grouped as by [`Self::to_multipolygon`]; rings
    /// with fewer than 3 distinct points count as nothing.
    pub fn computed_area_m2(&self, order: AxisOrder) -> f64 {
        group_rings(
            self.rings
                .iter()
                .filter(|r| r.distinct_points() >= 3)
                .map(|r| ring_coords(r, order)),
        )
        .unsigned_area()
    }
}

fn ring_coords(r: &JzdRing, order: AxisOrder) -> Vec<Coord<f64>> {
    r.points
        .iter()
        .map(|p| match order {
            AxisOrder::NorthEast => Coord { x: p.y, y: p.x },
            AxisOrder::EastNorth => Coord { x: p.x, y: p.y },
        })
        .collect()
}

fn group_rings(rings: impl Iterator<Item = Vec<Coord<f64>>>) -> MultiPolygon<f64> {
    let mut polys: Vec<Polygon<f64>> = Vec::new();
    for coords in rings {
        let ring = LineString::from(coords);
        let as_poly = Polygon::new(ring.clone(), vec![]);
        let host = polys.iter().position(|p| {
            Polygon::new(p.exterior().clone(), vec![]).contains(&as_poly)
                && !p
                    .interiors()
                    .iter()
                    .any(|h| Polygon::new(h.clone(), vec![]).contains(&as_poly))
        });
        match host {
            Some(i) => polys[i].interiors_push(ring),
            None => polys.push(as_poly),
        }
    }
    MultiPolygon(polys)
}

// ---------------------------------------------------------------------------------------------
// Decoding

fn line_at(enc: &'static Encoding, bytes: &[u8], offset: usize) -> usize {
    let prefix = bytes.get(..offset).unwrap_or(bytes);
    let (text, _) = enc.decode_without_bom_handling(prefix);
    text.matches('\n').count() + 1
}

/// Decodes strictly; on malformed input gives the byte offset where decoding failed.
fn decode_strict(enc: &'static Encoding, bytes: &[u8]) -> Result<String, usize> {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut out = String::with_capacity(cap);
    let mut read_total = 0;
    loop {
        let (result, read) = decoder.decode_to_string_without_replacement(
            bytes.get(read_total..).unwrap_or_default(),
            &mut out,
            true,
        );
        read_total += read;
        match result {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => out.reserve(bytes.len() - read_total + 16),
            DecoderResult::Malformed(bad, after) => {
                return Err(read_total.saturating_sub(usize::from(bad) + usize::from(after)));
            }
        }
    }
}

/// BOM (UTF-8, UTF-16) first, then strict UTF-8, then GBK (decoded as GB18030, its superset).
fn decode(bytes: &[u8]) -> Result<String, JzdError> {
    let failed = |enc: &'static Encoding, body: &[u8], offset: usize| JzdError::NotDecodable {
        line: line_at(enc, body, offset),
        byte: body.get(offset).copied().unwrap_or_default(),
    };
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        return decode_strict(enc, body).map_err(|off| failed(enc, body, off));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    decode_strict(GBK, bytes).map_err(|off| failed(GBK, bytes, off))
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[derive(Clone, Copy, PartialEq)]
enum Section {
    None,
    Attributes,
    Coordinates,
    Other,
}

struct Builder {
    parcel: JzdParcel,
    area_text: String,
    area_decimals: u32,
    /// The current run of points sharing one 圈号.
    run: Vec<JzdPoint>,
    run_no: u32,
}

impl Builder {
    fn flush_run(&mut self) {
        if self.run.is_empty() {
            return;
        }
        let run = std::mem::take(&mut self.run);
        for points in split_run(run) {
            self.parcel.rings.push(JzdRing {
                ring_no: self.run_no,
                points,
            });
        }
    }
}

/// A run of points with one 圈号 is one ring when it closes as a whole (even if it passes its
/// first point on the way); otherwise some writers put several closed rings under one number,
/// so it is cut after each closure.
fn split_run(run: Vec<JzdPoint>) -> Vec<Vec<JzdPoint>> {
    if is_closed(&run) {
        return vec![run];
    }
    let mut out = Vec::new();
    let mut cur: Vec<JzdPoint> = Vec::new();
    for p in run {
        cur.push(p);
        if is_closed(&cur) {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn split_fields(s: &str) -> Vec<&str> {
    s.split(',').map(str::trim).collect()
}

fn is_parcel_header(line: &str, fields: &[&str]) -> bool {
    line.ends_with('@') || (fields.len() >= 8 && matches!(fields[4], "面" | "线" | "点"))
}

fn leading_number(s: &str) -> &str {
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn parse_coord(line: usize, axis: &'static str, text: &str) -> Result<f64, JzdError> {
    let v: f64 = text.parse().map_err(|_| JzdError::BadCoordinate {
        line,
        axis,
        text: text.to_string(),
    })?;
    if !v.is_finite() {
        return Err(JzdError::NonFiniteCoordinate {
            line,
            axis,
            text: text.to_string(),
        });
    }
    Ok(v)
}

fn decimals_of(text: &str) -> u32 {
    text.split_once('.').map_or(0, |(_, frac)| {
        frac.chars().take_while(char::is_ascii_digit).count() as u32
    })
}

fn read_header(entries: &[(String, String, usize)], warnings: &mut Vec<JzdWarning>) -> JzdHeader {
    let mut h = JzdHeader {
        entries: entries
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect(),
        ..JzdHeader::default()
    };
    let mut unreadable = |line: usize, key: &str, value: &str| {
        warnings.push(JzdWarning::HeaderValueUnreadable {
            line,
            key: key.to_string(),
            value: value.to_string(),
        });
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value, line) in entries {
        // The first occurrence of a key wins, as in JzdHeader::get.
        if seen.contains(&key.as_str()) {
            continue;
        }
        seen.push(key);
        let line = *line;
        match key.as_str() {
            "坐标系" | "坐标系统" => h.datum = Datum::parse(value),
            "几度分带" | "分带" if !value.is_empty() => {
                match leading_number(value).parse::<u8>() {
                    Ok(w) => h.zone_width = Some(w),
                    Err(_) => unreadable(line, key, value),
                }
            }
            "带号" if !value.is_empty() => match leading_number(value).parse::<u32>() {
                Ok(z) => h.zone = Some(z),
                Err(_) => unreadable(line, key, value),
            },
            "精度" if !value.is_empty() => match leading_number(value).parse::<f64>() {
                Ok(p) if p > 0.0 && p.is_finite() => h.precision = Some(p),
                _ => unreadable(line, key, value),
            },
            "计量单位" if !value.is_empty() => h.unit = Some(value.clone()),
            "转换参数" => {
                let parts: Vec<Option<f64>> = value
                    .split([',', '，'])
                    .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
                    .collect();
                if parts.len() == 7
                    && let Some(vals) = parts.into_iter().collect::<Option<Vec<f64>>>()
                    && let Ok(arr) = <[f64; 7]>::try_from(vals)
                {
                    h.transform_params = Some(arr);
                }
            }
            _ => {}
        }
    }
    h
}

/// Parses a 界址点坐标 TXT file (encoding detected: BOM, UTF-8, else GBK).
pub fn parse(bytes: &[u8]) -> Result<JzdFile, JzdError> {
    if bytes.is_empty() {
        return Err(JzdError::Empty);
    }
    let mut text = decode(bytes)?;
    if !text.contains('\n') {
        // Classic Mac line ends.
        text = text.replace('\r', "\n");
    }
    if text.trim().is_empty() {
        return Err(JzdError::Empty);
    }
    let mut warnings = Vec::new();
    let mut entries: Vec<(String, String, usize)> = Vec::new();
    let mut parcels: Vec<JzdParcel> = Vec::new();
    let mut builders: Vec<Builder> = Vec::new();
    let mut current: Option<Builder> = None;
    let mut section = Section::None;
    let mut coord_section_line = None;
    let mut last_line = 1;

    let finish = |b: Option<Builder>, out: &mut Vec<Builder>| -> Result<(), JzdError> {
        if let Some(mut b) = b {
            b.flush_run();
            if b.parcel.rings.is_empty() {
                return Err(JzdError::ParcelWithoutPoints {
                    line: b.parcel.line,
                    id: b.parcel.id,
                });
            }
            out.push(b);
        }
        Ok(())
    };

    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let l = raw.trim_end_matches('\r').trim();
        if l.is_empty() {
            continue;
        }
        last_line = line;
        if l.starts_with('[') && l.ends_with(']') {
            let name = l.trim_start_matches('[').trim_end_matches(']').trim();
            finish(current.take(), &mut builders)?;
            section = match name {
                "属性描述" => Section::Attributes,
                "地块坐标" => {
                    coord_section_line.get_or_insert(line);
                    Section::Coordinates
                }
                _ => Section::Other,
            };
            continue;
        }
        match section {
            Section::Attributes => match l.split_once(['=', '＝']) {
                Some((k, v)) => entries.push((k.trim().to_string(), v.trim().to_string(), line)),
                None => warnings.push(JzdWarning::IgnoredLine {
                    line,
                    text: l.to_string(),
                }),
            },
            Section::Coordinates => {
                let fields = split_fields(l);
                if is_parcel_header(l, &fields) {
                    finish(current.take(), &mut builders)?;
                    current = Some(parcel_header(line, &fields)?);
                    continue;
                }
                let Some(b) = current.as_mut() else {
                    return Err(JzdError::PointBeforeParcel {
                        line,
                        text: l.to_string(),
                    });
                };
                // Point lines hold no Chinese text, so a full-width comma can only be a separator.
                let normalised = l.replace('，', ",");
                let fields = split_fields(&normalised);
                if fields.len() < 4 {
                    return Err(JzdError::TooFewFields {
                        line,
                        text: l.to_string(),
                        found: fields.len(),
                    });
                }
                let ring_no: u32 = fields[1].parse().map_err(|_| JzdError::BadRingNumber {
                    line,
                    text: fields[1].to_string(),
                })?;
                let x = parse_coord(line, "X", fields[2])?;
                let y = parse_coord(line, "Y", fields[3])?;
                if ring_no != b.run_no {
                    b.flush_run();
                    b.run_no = ring_no;
                }
                b.run.push(JzdPoint {
                    name: fields[0].to_string(),
                    x,
                    y,
                    line,
                });
            }
            Section::None => warnings.push(JzdWarning::IgnoredLine {
                line,
                text: l.to_string(),
            }),
            Section::Other => {}
        }
    }
    finish(current.take(), &mut builders)?;

    let Some(coord_line) = coord_section_line else {
        return Err(JzdError::NoCoordinateSection { line: last_line });
    };
    if builders.is_empty() {
        return Err(JzdError::NoParcels { line: coord_line });
    }

    let header = read_header(&entries, &mut warnings);
    for b in builders {
        check_parcel(&b, &mut warnings);
        parcels.push(b.parcel);
    }
    let mut file = JzdFile {
        header,
        parcels,
        warnings,
    };
    if let Some(w) = mixed_prefix(&file) {
        file.warnings.push(w);
    }
    Ok(file)
}

fn parcel_header(line: usize, fields: &[&str]) -> Result<Builder, JzdError> {
    let mut fields: Vec<&str> = fields.to_vec();
    if fields.last().is_some_and(|f| f.ends_with('@')) {
        let last = fields.len() - 1;
        fields[last] = fields[last].trim_end_matches('@').trim();
        if fields[last].is_empty() {
            fields.pop();
        }
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or_default().to_string();
    let points_text = field(0);
    let declared_points = if points_text.is_empty() {
        None
    } else {
        Some(
            points_text
                .parse::<usize>()
                .map_err(|_| JzdError::BadPointCount {
                    line,
                    text: points_text.clone(),
                })?,
        )
    };
    let area_text = field(1);
    Ok(Builder {
        parcel: JzdParcel {
            line,
            declared_points,
            declared_area: area_text.parse::<f64>().ok().filter(|v| v.is_finite()),
            id: field(2),
            name: field(3),
            shape: field(4),
            sheet: field(5),
            usage: field(6),
            class_code: field(7),
            rings: Vec::new(),
        },
        area_decimals: decimals_of(&area_text),
        area_text,
        run: Vec::new(),
        run_no: 0,
    })
}

/// Which unit a declared area is in: the one whose reading is nearer the computed area by
/// ratio (a 2× error must not flip 公顷 into m²); 公顷 when nothing can be compared.
fn guess_unit(declared: f64, computed_m2: f64) -> AreaUnit {
    if declared > 0.0 && computed_m2 > 0.0 {
        let off = |unit: AreaUnit| (unit.m2(declared) / computed_m2).ln().abs();
        if off(AreaUnit::SquareMetre) < off(AreaUnit::Hectare) {
            return AreaUnit::SquareMetre;
        }
    }
    AreaUnit::Hectare
}

fn check_parcel(b: &Builder, warnings: &mut Vec<JzdWarning>) {
    let p = &b.parcel;
    let polygon = is_polygon_shape(&p.shape);
    if polygon {
        for r in &p.rings {
            if !r.is_closed() && r.distinct_points() >= 3 {
                warnings.push(JzdWarning::RingNotClosed {
                    id: p.id.clone(),
                    line: p.line,
                    ring_no: r.ring_no,
                    ring_line: r.first_line(),
                });
            }
        }
    }
    if let Some(declared) = p.declared_points {
        let total: usize = p.rings.iter().map(|r| r.points.len()).sum();
        let closed = p.rings.iter().filter(|r| r.is_closed()).count();
        let without_closing = total - closed;
        let with_closing = if polygon {
            without_closing + p.rings.len()
        } else {
            total
        };
        if declared != with_closing && declared != without_closing {
            warnings.push(JzdWarning::PointCountMismatch {
                id: p.id.clone(),
                line: p.line,
                declared,
                with_closing,
                without_closing,
            });
        }
    }
    if b.area_text.is_empty() {
        return;
    }
    let Some(declared) = p.declared_area else {
        warnings.push(JzdWarning::AreaUnreadable {
            id: p.id.clone(),
            line: p.line,
            text: b.area_text.clone(),
        });
        return;
    };
    let computed = p.computed_area_m2(AxisOrder::NorthEast);
    let unit = guess_unit(declared, computed);
    let declared_m2 = unit.m2(declared);
    // A small parcel written as 0.0500 公顷 is only known to ±0.5 m², which can exceed 0.1 %.
    let rounding = unit.m2(0.5 * 10f64.powi(-(b.area_decimals as i32)));
    let tolerance = (computed * 1.0e-3).max(rounding);
    if polygon && computed > 0.0 && (declared_m2 - computed).abs() > tolerance {
        warnings.push(JzdWarning::AreaMismatch {
            id: p.id.clone(),
            line: p.line,
            declared,
            unit,
            declared_m2,
            computed_m2: computed,
        });
    }
}

fn mixed_prefix(file: &JzdFile) -> Option<JzdWarning> {
    let swapped = file.looks_swapped();
    let (mut prefixed, mut unprefixed) = (Vec::new(), Vec::new());
    for p in file.points() {
        let e = if swapped { p.x } else { p.y };
        if !looks_easting(e) {
            continue;
        }
        if e >= 1.0e6 {
            prefixed.push(p.line);
        } else {
            unprefixed.push(p.line);
        }
    }
    if prefixed.is_empty() || unprefixed.is_empty() {
        return None;
    }
    let minority = if prefixed.len() <= unprefixed.len() {
        &prefixed
    } else {
        &unprefixed
    };
    Some(JzdWarning::MixedZonePrefix {
        prefixed: prefixed.len(),
        unprefixed: unprefixed.len(),
        line: minority.first().copied().unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------------
// Writing

const STANDARD_KEYS: [&str; 10] = [
    "格式版本号",
    "数据产生单位",
    "数据产生日期",
    "坐标系",
    "几度分带",
    "投影类型",
    "计量单位",
    "带号",
    "精度",
    "转换参数",
];

/// Decimals implied by 精度 (0.001 → 3); 3 when absent or nonsensical.
fn decimals_for(precision: Option<f64>) -> usize {
    match precision {
        Some(p) if p > 0.0 && p.is_finite() => (-p.log10() - 1e-9).ceil().clamp(0.0, 9.0) as usize,
        _ => 3,
    }
}

/// Fixed-point text without a negative zero.
fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.bytes().all(|c| matches!(c, b'-' | b'0' | b'.')) {
        s[1..].to_string()
    } else {
        s
    }
}

/// Rounds through the text the writer emits, so areas computed here equal those a reader of
/// the output computes.
fn rounded(v: f64, decimals: usize) -> f64 {
    fixed(v, decimals).parse().unwrap_or(v)
}

fn check_text(
    line: usize,
    what: &'static str,
    text: &str,
    forbidden: &[char],
) -> Result<(), JzdError> {
    if text.contains(['\r', '\n']) || text.contains(forbidden) {
        return Err(JzdError::Unwritable {
            line,
            what,
            text: text.to_string(),
        });
    }
    Ok(())
}

fn header_lines(h: &JzdHeader) -> Vec<(String, String)> {
    let entry = |k: &str| h.get(k).map(str::to_string);
    let zone_width = h.zone_width.or(match h.zone {
        Some(13..=23) => Some(6),
        _ => Some(3),
    });
    let precision = match h.precision {
        Some(p) if p > 0.0 && p.is_finite() => format!("{p}"),
        _ => "0.001".to_string(),
    };
    let params = match h.transform_params {
        Some(t) => t.map(|v| format!("{v}")).join(","),
        None => entry("转换参数").unwrap_or_else(|| ",,,,,,".to_string()),
    };
    let mut out: Vec<(String, String)> = STANDARD_KEYS
        .iter()
        .map(|&k| {
            let v = match k {
                "格式版本号" => entry(k).unwrap_or_else(|| "1.00版本".to_string()),
                "坐标系" => h.datum.header_name().to_string(),
                "几度分带" => zone_width.map(|w| w.to_string()).unwrap_or_default(),
                "投影类型" => entry(k).unwrap_or_else(|| "高斯克吕格".to_string()),
                "计量单位" => h.unit.clone().unwrap_or_else(|| "米".to_string()),
                "带号" => h.zone.map(|z| z.to_string()).unwrap_or_default(),
                "精度" => precision.clone(),
                "转换参数" => params.clone(),
                _ => entry(k).unwrap_or_default(),
            };
            (k.to_string(), v.trim().to_string())
        })
        .collect();
    out.extend(
        h.entries
            .iter()
            .filter(|(k, _)| !STANDARD_KEYS.contains(&k.trim()))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string())),
    );
    out
}

/// A point name in the standard `J<n>` form: bare numbers get the `J`, missing names the
/// running number.
fn point_name(name: &str, seq: usize) -> String {
    if name.is_empty() {
        format!("J{seq}")
    } else if name.bytes().all(|b| b.is_ascii_digit()) {
        format!("J{name}")
    } else {
        name.to_string()
    }
}

struct OutPoint {
    name: String,
    x: f64,
    y: f64,
}

/// Writes a file in the strict form; X/Y are put back in survey order if the file looks
/// swapped.
pub fn write(file: &JzdFile, encoding: TxtEncoding) -> Result<Vec<u8>, JzdError> {
    let swap = file.looks_swapped();
    let decimals = decimals_for(file.header.precision);
    let mut lines: Vec<String> = vec!["[属性描述]".to_string()];
    for (k, v) in header_lines(&file.header) {
        let n = lines.len() + 1;
        check_text(n, "header key", &k, &['=', '＝'])?;
        check_text(n, "header value", &v, &[])?;
        lines.push(format!("{k}={v}"));
    }
    lines.push("[地块坐标]".to_string());
    if file.parcels.is_empty() {
        return Err(JzdError::NoParcels { line: lines.len() });
    }

    for p in &file.parcels {
        let header_line = lines.len() + 1;
        let polygon = is_polygon_shape(&p.shape);
        let mut rings: Vec<Vec<OutPoint>> = Vec::new();
        let mut seq = 0;
        for r in &p.rings {
            let mut pts: Vec<OutPoint> = r
                .points
                .iter()
                .map(|pt| {
                    seq += 1;
                    let (x, y) = if swap { (pt.y, pt.x) } else { (pt.x, pt.y) };
                    OutPoint {
                        name: point_name(pt.name.trim(), seq),
                        x: rounded(x, decimals),
                        y: rounded(y, decimals),
                    }
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            if polygon {
                let mut distinct: Vec<(f64, f64)> = pts.iter().map(|q| (q.x, q.y)).collect();
                distinct.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
                distinct.dedup();
                if distinct.len() < 3 {
                    return Err(JzdError::DegenerateRing {
                        line: header_line,
                        id: p.id.clone(),
                        ring_no: r.ring_no,
                        distinct: distinct.len(),
                    });
                }
                let closed = pts.len() >= 4
                    && pts.first().map(|q| (q.x, q.y)) == pts.last().map(|q| (q.x, q.y));
                if !closed && let Some(first) = pts.first() {
                    let close = OutPoint {
                        name: first.name.clone(),
                        x: first.x,
                        y: first.y,
                    };
                    pts.push(close);
                }
            }
            rings.push(pts);
        }
        if rings.is_empty() {
            return Err(JzdError::ParcelWithoutPoints {
                line: header_line,
                id: p.id.clone(),
            });
        }
        let total: usize = rings.iter().map(Vec::len).sum();
        let area_ha = if polygon {
            let computed = group_rings(
                rings
                    .iter()
                    .map(|r| r.iter().map(|q| Coord { x: q.y, y: q.x }).collect()),
            )
            .unsigned_area();
            match p.declared_area {
                Some(d) => match guess_unit(d, computed) {
                    AreaUnit::Hectare => d,
                    AreaUnit::SquareMetre => d / 1.0e4,
                },
                None => computed / 1.0e4,
            }
        } else {
            p.declared_area.unwrap_or(0.0)
        };
        for (what, text) in [
            ("地块编号", &p.id),
            ("地块名称", &p.name),
            ("图形属性", &p.shape),
            ("图幅号", &p.sheet),
            ("地块用途", &p.usage),
            ("地类编码", &p.class_code),
        ] {
            check_text(header_line, what, text, &[','])?;
        }
        lines.push(format!(
            "{total},{},{},{},{},{},{},{},@",
            fixed(area_ha, 4),
            p.id.trim(),
            p.name.trim(),
            p.shape.trim(),
            p.sheet.trim(),
            p.usage.trim(),
            p.class_code.trim()
        ));
        for (ring_no, ring) in rings.iter().enumerate() {
            for q in ring {
                check_text(lines.len() + 1, "point name", &q.name, &[',', '，'])?;
                lines.push(format!(
                    "{},{},{},{}",
                    q.name,
                    ring_no + 1,
                    fixed(q.x, decimals),
                    fixed(q.y, decimals)
                ));
            }
        }
    }

    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    match encoding {
        TxtEncoding::Utf8 => Ok(text.into_bytes()),
        TxtEncoding::Gbk => {
            let (bytes, _, had_errors) = GBK.encode(&text);
            if !had_errors {
                return Ok(bytes.into_owned());
            }
            for (i, l) in lines.iter().enumerate() {
                for ch in l.chars() {
                    let mut buf = [0u8; 4];
                    if GBK.encode(ch.encode_utf8(&mut buf)).2 {
                        return Err(JzdError::NotGbk { line: i + 1, ch });
                    }
                }
            }
            Ok(bytes.into_owned())
        }
    }
}

/// Descriptive fields of a parcel to be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParcelMeta {
    pub id: String,
    pub name: String,
    /// 图形属性; 面 when empty.
    pub shape: String,
    pub sheet: String,
    pub usage: String,
    pub class_code: String,
    /// The area to declare, in 公顷 (e.g. an ellipsoidal area); the planar area when None.
    pub area_ha: Option<f64>,
}

/// The vertex the cadastral rule starts numbering from: the north-westernmost.
fn north_west_index(ring: &[Coord<f64>]) -> usize {
    let key = |c: &Coord<f64>| (c.y - c.x, c.y);
    let mut best = 0;
    for (i, c) in ring.iter().enumerate() {
        let (k, n) = key(c);
        let (bk, bn) = key(&ring[best]);
        if k > bk || (k == bk && n > bn) {
            best = i;
        }
    }
    best
}

/// Vertices of a ring, rounded, without repeats or the closing point, turned to the wanted
/// orientation and started at the north-west vertex.
fn normalised_ring(ring: &LineString<f64>, decimals: usize, clockwise: bool) -> Vec<Coord<f64>> {
    let mut pts: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let c = Coord {
            x: rounded(c.x, decimals),
            y: rounded(c.y, decimals),
        };
        if pts.last() != Some(&c) {
            pts.push(c);
        }
    }
    while pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    let signed = Polygon::new(LineString::from(pts.clone()), vec![]).signed_area();
    if (signed < 0.0) != clockwise {
        pts.reverse();
    }
    let start = north_west_index(&pts);
    pts.rotate_left(start);
    pts
}

/// A parcel for the writer from a multipolygon in unprefixed Gauss–Krüger coordinates
/// (x = easting, y = northing). Following the cadastral numbering rule (地籍调查规程), each outer
/// ring runs clockwise from its north-west vertex and each hole counter-clockwise; points are
/// numbered J1, J2, … across the parcel, every ring closed by repeating its first point, rings
/// numbered 1, 2, …. `zone_prefix` adds 带号 × 10⁶ to the eastings.
pub fn parcel_from_multipolygon(
    mp: &MultiPolygon<f64>,
    meta: ParcelMeta,
    zone_prefix: Option<u32>,
    decimals: u8,
) -> JzdParcel {
    let decimals = usize::from(decimals.min(9));
    let offset = zone_prefix.map_or(0.0, |z| f64::from(z) * 1.0e6);
    let mut rings = Vec::new();
    let mut seq = 0;
    let mut planar = 0.0;
    for poly in &mp.0 {
        let parts = std::iter::once((poly.exterior(), true))
            .chain(poly.interiors().iter().map(|r| (r, false)));
        for (ring, outer) in parts {
            let pts = normalised_ring(ring, decimals, outer);
            if pts.is_empty() {
                continue;
            }
            let area = Polygon::new(LineString::from(pts.clone()), vec![]).unsigned_area();
            planar += if outer { area } else { -area };
            let first_seq = seq + 1;
            let mut points: Vec<JzdPoint> = pts
                .iter()
                .map(|c| {
                    seq += 1;
                    JzdPoint {
                        name: format!("J{seq}"),
                        x: c.y,
                        y: rounded(c.x + offset, decimals),
                        line: 0,
                    }
                })
                .collect();
            if let Some(first) = points.first().cloned() {
                points.push(JzdPoint {
                    name: format!("J{first_seq}"),
                    ..first
                });
            }
            rings.push(JzdRing {
                ring_no: rings.len() as u32 + 1,
                points,
            });
        }
    }
    let total = rings.iter().map(|r| r.points.len()).sum();
    JzdParcel {
        line: 0,
        declared_points: Some(total),
        declared_area: Some(meta.area_ha.unwrap_or(planar / 1.0e4)),
        id: meta.id,
        name: meta.name,
        shape: if meta.shape.is_empty() {
            "面".to_string()
        } else {
            meta.shape
        },
        sheet: meta.sheet,
        usage: meta.usage,
        class_code: meta.class_code,
        rings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/fixtures/jzd")
            .join(name);
        std::fs::read(&path).expect("fixture")
    }

    fn parse_fixture(name: &str) -> JzdFile {
        parse(&fixture(name)).expect("parses")
    }

    fn parse_str(text: &str) -> JzdFile {
        parse(text.as_bytes()).expect("parses")
    }

    fn err_of(name: &str) -> String {
        parse(&fixture(name)).expect_err("must fail").to_string()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    fn exterior(mp: &MultiPolygon<f64>, i: usize) -> Vec<(f64, f64)> {
        mp.0[i].exterior().0.iter().map(|c| (c.x, c.y)).collect()
    }

    const HEAD: &str =
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n带号=37\n精度=0.001\n[地块坐标]\n";

    #[test]
    fn gbk_file_with_a_hole_and_a_multipart_parcel() {
        let bytes = fixture("two_parcels_gbk.txt");
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "fixture must really be GBK"
        );
        let f = parse(&bytes).expect("parses");
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        assert!(!f.looks_swapped());

        let h = &f.header;
        assert_eq!(h.datum, Datum::Cgcs2000);
        assert_eq!(h.zone, Some(37));
        assert_eq!(h.zone_width, Some(3));
        assert_eq!(h.precision, Some(0.001));
        assert_eq!(h.unit.as_deref(), Some("米"));
        assert_eq!(h.transform_params, None);
        assert_eq!(h.entries.len(), 10);
        assert_eq!(
            h.entries[1],
            ("数据产生单位".to_string(), "阳东区自然资源局".to_string())
        );
        assert_eq!(h.get("数据产生日期"), Some("2024-05-01"));

        assert_eq!(f.parcels.len(), 2);
        let p = &f.parcels[0];
        assert_eq!(p.line, 13);
        assert_eq!(
            (
                p.id.as_str(),
                p.name.as_str(),
                p.shape.as_str(),
                p.sheet.as_str(),
                p.usage.as_str(),
                p.class_code.as_str()
            ),
            (
                "DK-01",
                "东城村地块",
                "面",
                "F49G001001",
                "工业用地",
                "1001"
            )
        );
        assert_eq!(p.declared_points, Some(10));
        assert_eq!(p.declared_area, Some(5.5));
        assert_eq!(
            p.rings
                .iter()
                .map(|r| (r.ring_no, r.points.len()))
                .collect::<Vec<_>>(),
            vec![(1, 5), (2, 5)]
        );
        assert_eq!(
            p.rings[0].points[0],
            JzdPoint {
                name: "J1".into(),
                x: 2_420_200.0,
                y: 37_593_000.0,
                line: 14
            }
        );
        // 300 m × 200 m minus a 100 m × 50 m hole.
        let mp = p.to_multipolygon(AxisOrder::NorthEast).expect("polygon");
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert_eq!(exterior(&mp, 0)[0], (37_593_000.0, 2_420_200.0));
        assert!(close(mp.unsigned_area(), 55_000.0));
        assert!(close(p.computed_area_m2(AxisOrder::NorthEast), 55_000.0));

        // A right triangle with 100 m legs, and a 50 m × 40 m rectangle beside it.
        let q = &f.parcels[1];
        assert_eq!((q.id.as_str(), q.name.as_str()), ("DK-02", "合山村地块"));
        assert_eq!(q.line, 24);
        let mp = q.to_multipolygon(AxisOrder::NorthEast).expect("polygon");
        assert_eq!(mp.0.len(), 2);
        assert!(mp.0.iter().all(|p| p.interiors().is_empty()));
        assert!(close(mp.0[0].unsigned_area(), 5_000.0));
        assert!(close(mp.0[1].unsigned_area(), 2_000.0));
        assert!(close(q.computed_area_m2(AxisOrder::NorthEast), 7_000.0));
    }

    #[test]
    fn utf8_bom_file_without_j_prefixes_and_area_in_square_metres() {
        let f = parse_fixture("bom_utf8_m2.txt");
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        // The [项目信息] entries are not header entries.
        assert_eq!(
            f.header
                .entries
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
            vec!["坐标系", "几度分带", "带号", "精度"]
        );
        assert_eq!(f.header.precision, Some(0.01));
        assert_eq!(f.header.unit, None);
        let p = &f.parcels[0];
        assert_eq!(p.id, "2024-001");
        assert_eq!(p.name, "北惯镇地块");
        assert_eq!(p.sheet, "");
        assert_eq!(p.usage, "商业用地");
        assert_eq!(p.class_code, "0503");
        assert_eq!(p.declared_points, Some(4));
        assert_eq!(p.declared_area, Some(4000.0));
        let names: Vec<&str> = p.rings[0].points.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, vec!["1", "2", "3", "4", "1"]);
        assert_eq!(p.rings[0].points[1].y, 600_050.0);
        // 50 m × 80 m.
        assert!(close(p.computed_area_m2(AxisOrder::NorthEast), 4_000.0));
    }

    #[test]
    fn swapped_columns_are_detected_and_read_east_north() {
        let f = parse_fixture("swapped.txt");
        assert!(f.looks_swapped());
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        let mp = f.parcels[0]
            .to_multipolygon(AxisOrder::EastNorth)
            .expect("polygon");
        assert_eq!(
            exterior(&mp, 0),
            vec![
                (37_600_000.0, 2_430_000.0),
                (37_600_060.0, 2_430_000.0),
                (37_600_000.0, 2_430_040.0),
                (37_600_000.0, 2_430_000.0)
            ]
        );
        // Legs of 60 m and 40 m.
        assert!(close(mp.unsigned_area(), 1_200.0));

        // Unprefixed swapped eastings are recognised too.
        let g = parse_str(&format!(
            "{HEAD}4,,A,,面,,,,@\nJ1,1,600000,2415000\nJ2,1,600010,2415000\nJ3,1,600000,2415010\nJ1,1,600000,2415000\n"
        ));
        assert!(g.looks_swapped());
        assert!(!parse_fixture("unclosed.txt").looks_swapped());
    }

    #[test]
    fn declared_area_five_percent_off_is_reported() {
        let f = parse_fixture("area_off.txt");
        assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
        assert!(
            matches!(
                &f.warnings[0],
                JzdWarning::AreaMismatch {
                    id,
                    line: 5,
                    declared,
                    unit: AreaUnit::Hectare,
                    declared_m2,
                    computed_m2,
                } if id == "AO-1"
                    && *declared == 1.05
                    && close(*declared_m2, 10_500.0)
                    && close(*computed_m2, 10_000.0)
            ),
            "{:?}",
            f.warnings
        );
        assert_eq!(
            f.warnings[0].to_string(),
            "line 5: parcel `AO-1` declares 面积 1.05 (read as 公顷: 10500.00 m²) but its rings \
             give 10000.00 m² (+5.00 %)"
        );
    }

    #[test]
    fn area_unit_is_guessed_by_ratio_and_rounding_is_tolerated() {
        // 100 m × 90 m = 9000 m² declared as 2.0000 公顷: twice too big, but still 公顷.
        let f = parse_str(&format!(
            "{HEAD}5,2.0000,R,,面,,,,@\nJ1,1,2415090,600000\nJ2,1,2415090,600100\nJ3,1,2415000,600100\nJ4,1,2415000,600000\nJ1,1,2415090,600000\n"
        ));
        assert!(matches!(
            f.warnings.as_slice(),
            [JzdWarning::AreaMismatch {
                unit: AreaUnit::Hectare,
                ..
            }]
        ));
        // 10.02 m × 10 m = 100.2 m²: 0.0100 公顷 is 0.2 % off but within its ±0.5 m² rounding.
        let small = |area: &str| {
            parse_str(&format!(
                "{HEAD}5,{area},S,,面,,,,@\nJ1,1,2415010,600000\nJ2,1,2415010,600010.02\nJ3,1,2415000,600010.02\nJ4,1,2415000,600000\nJ1,1,2415010,600000\n"
            ))
            .warnings
        };
        assert!(small("0.0100").is_empty());
        assert_eq!(small("0.0099").len(), 1);
        assert!(small("100.2").is_empty());
    }

    #[test]
    fn unclosed_ring_and_wrong_point_count_are_reported_and_closed() {
        let f = parse_fixture("unclosed.txt");
        assert_eq!(f.header.datum, Datum::Xian80);
        assert_eq!(
            f.warnings,
            vec![
                JzdWarning::RingNotClosed {
                    id: "UC-1".into(),
                    line: 6,
                    ring_no: 1,
                    ring_line: 7
                },
                JzdWarning::PointCountMismatch {
                    id: "UC-1".into(),
                    line: 6,
                    declared: 7,
                    with_closing: 5,
                    without_closing: 4
                }
            ]
        );
        assert_eq!(
            f.warnings[0].to_string(),
            "line 6: parcel `UC-1` ring 1 (from line 7) is not closed; closed automatically"
        );
        assert_eq!(
            f.warnings[1].to_string(),
            "line 6: parcel `UC-1` declares 点数 7 but has 5 points (4 without closing points)"
        );
        let mp = f.parcels[0]
            .to_multipolygon(AxisOrder::NorthEast)
            .expect("polygon");
        let ext = exterior(&mp, 0);
        assert_eq!(ext.len(), 5);
        assert_eq!(ext.first(), ext.last());
        // 20 m × 40 m.
        assert!(close(mp.unsigned_area(), 800.0));
    }

    #[test]
    fn malformed_files_name_line_and_problem() {
        let cases = [
            ("bad/empty.txt", "line 1: the file is empty"),
            (
                "bad/no_section.txt",
                "line 3: no [地块坐标] section (the file ends without one)",
            ),
            (
                "bad/no_parcels.txt",
                "line 4: the [地块坐标] section holds no parcel header (`点数,面积,地块编号,…,@`)",
            ),
            (
                "bad/bad_point_count.txt",
                "line 5: 点数 `五` in the parcel header is not a whole number",
            ),
            (
                "bad/too_few_fields.txt",
                "line 7: point line `J2,1,2405040.000` has 3 field(s); it needs 4 (点号,圈号,X,Y)",
            ),
            (
                "bad/bad_coordinate.txt",
                "line 7: X coordinate `2405O40.000` is not a number",
            ),
            (
                "bad/nonfinite.txt",
                "line 7: Y coordinate `1e999` is not finite",
            ),
            (
                "bad/bad_ring_number.txt",
                "line 6: 圈号 `一` is not a whole number",
            ),
            (
                "bad/point_before_parcel.txt",
                "line 5: point line `J1,1,2405040.000,570000.000` comes before any parcel header (`…,@`)",
            ),
            ("bad/no_points.txt", "line 5: parcel `NP-1` has no points"),
            (
                "bad/not_decodable.txt",
                "line 3: the file is neither UTF-8 nor GBK text (byte 0xFF cannot be decoded)",
            ),
        ];
        for (file, expected) in cases {
            assert_eq!(err_of(file), expected, "{file}");
        }
        assert_eq!(
            parse(b" \r\n\r\n").expect_err("blank").to_string(),
            "line 1: the file is empty"
        );
    }

    #[test]
    fn unusable_parcels_fail_one_by_one() {
        let f = parse_fixture("bad/degenerate_ring.txt");
        assert_eq!(
            f.parcels[0]
                .to_multipolygon(AxisOrder::NorthEast)
                .expect_err("degenerate")
                .to_string(),
            "line 6: parcel `DG-1` ring 1 has 2 distinct point(s); a polygon ring needs at least 3"
        );
        let f = parse_fixture("bad/line_parcel.txt");
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        assert_eq!(f.parcels[0].declared_area, None);
        assert_eq!(
            f.parcels[0]
                .to_multipolygon(AxisOrder::NorthEast)
                .expect_err("a line")
                .to_string(),
            "line 5: parcel `LN-1` has 图形属性 `线`, not a polygon (面)"
        );
    }

    #[test]
    fn strict_file_round_trips_byte_for_byte() {
        let original = fixture("two_parcels_gbk.txt");
        let written = write(&parse(&original).expect("parses"), TxtEncoding::Gbk).expect("writes");
        assert_eq!(written, original);
        let utf8 = write(&parse(&original).expect("parses"), TxtEncoding::Utf8).expect("writes");
        assert!(utf8.starts_with("[属性描述]\r\n格式版本号=1.00版本\r\n".as_bytes()));
        assert_eq!(
            parse(&utf8).expect("parses"),
            parse(&original).expect("parses")
        );
    }

    #[test]
    fn loose_file_is_written_in_the_strict_form() {
        let f = parse_fixture("bom_utf8_m2.txt");
        let written = write(&f, TxtEncoding::Utf8).expect("writes");
        let expected = "[属性描述]\r\n格式版本号=1.00版本\r\n数据产生单位=\r\n数据产生日期=\r\n\
            坐标系=2000国家大地坐标系\r\n几度分带=3\r\n投影类型=高斯克吕格\r\n计量单位=米\r\n\
            带号=37\r\n精度=0.01\r\n转换参数=,,,,,,\r\n[地块坐标]\r\n\
            5,0.4000,2024-001,北惯镇地块,面,,商业用地,0503,@\r\n\
            J1,1,2415080.00,600000.00\r\nJ2,1,2415080.00,600050.00\r\n\
            J3,1,2415000.00,600050.00\r\nJ4,1,2415000.00,600000.00\r\n\
            J1,1,2415080.00,600000.00\r\n";
        assert_eq!(String::from_utf8(written.clone()).expect("utf8"), expected);
        let again = parse(&written).expect("parses");
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
        assert_eq!(write(&again, TxtEncoding::Utf8).expect("writes"), written);

        // Unclosed ring, wrong 点数: closed and recounted; GBK by default.
        let f = parse_fixture("unclosed.txt");
        let written = write(&f, TxtEncoding::default()).expect("writes");
        let g = parse(&written).expect("parses");
        assert!(g.warnings.is_empty(), "{:?}", g.warnings);
        assert_eq!(g.parcels[0].declared_points, Some(5));
        assert_eq!(g.header.datum, Datum::Xian80);
        assert_eq!(write(&g, TxtEncoding::Gbk).expect("writes"), written);
        for (a, b) in f.parcels[0].rings[0]
            .points
            .iter()
            .zip(&g.parcels[0].rings[0].points)
        {
            assert!((a.x - b.x).abs() <= 0.0005 && (a.y - b.y).abs() <= 0.0005);
        }
    }

    #[test]
    fn swapped_file_is_written_northing_first() {
        let f = parse_fixture("swapped.txt");
        let written =
            String::from_utf8(write(&f, TxtEncoding::Utf8).expect("writes")).expect("utf8");
        assert!(
            written.ends_with(
                "4,0.1200,SW-1,雅韶镇地块,面,,,,@\r\nJ1,1,2430000.000,37600000.000\r\n\
                 J2,1,2430000.000,37600060.000\r\nJ3,1,2430040.000,37600000.000\r\n\
                 J1,1,2430000.000,37600000.000\r\n"
            ),
            "{written}"
        );
        let g = parse(written.as_bytes()).expect("parses");
        assert!(!g.looks_swapped());
        assert_eq!(
            write(&g, TxtEncoding::Utf8).expect("writes"),
            written.as_bytes()
        );
    }

    #[test]
    fn parcel_from_multipolygon_numbers_clockwise_from_the_north_west() {
        // A 100 m square, counter-clockwise from its south-west corner, with a 20 m hole.
        let outer = LineString::from(vec![
            (600_000.0, 2_415_000.0),
            (600_100.0, 2_415_000.0),
            (600_100.0, 2_415_100.0),
            (600_000.0, 2_415_100.0),
            (600_000.0, 2_415_000.0),
        ]);
        let hole = LineString::from(vec![
            (600_040.0, 2_415_040.0),
            (600_040.0, 2_415_060.0),
            (600_060.0, 2_415_060.0),
            (600_060.0, 2_415_040.0),
            (600_040.0, 2_415_040.0),
        ]);
        let mp = MultiPolygon(vec![Polygon::new(outer, vec![hole])]);
        let meta = ParcelMeta {
            id: "XZ-01".into(),
            name: "选址地块".into(),
            usage: "工业用地".into(),
            class_code: "1001".into(),
            ..ParcelMeta::default()
        };
        let p = parcel_from_multipolygon(&mp, meta, Some(37), 3);
        assert_eq!(p.shape, "面");
        assert_eq!(p.declared_points, Some(10));
        assert!(close(p.declared_area.expect("area"), 0.96));
        let file = JzdFile {
            header: JzdHeader {
                datum: Datum::Cgcs2000,
                zone: Some(37),
                zone_width: Some(3),
                precision: Some(0.001),
                ..JzdHeader::default()
            },
            parcels: vec![p],
            warnings: Vec::new(),
        };
        let written = write(&file, TxtEncoding::Gbk).expect("writes");
        let expected = "[属性描述]\r\n格式版本号=1.00版本\r\n数据产生单位=\r\n数据产生日期=\r\n\
            坐标系=2000国家大地坐标系\r\n几度分带=3\r\n投影类型=高斯克吕格\r\n计量单位=米\r\n\
            带号=37\r\n精度=0.001\r\n转换参数=,,,,,,\r\n[地块坐标]\r\n\
            10,0.9600,XZ-01,选址地块,面,,工业用地,1001,@\r\n\
            J1,1,2415100.000,37600000.000\r\nJ2,1,2415100.000,37600100.000\r\n\
            J3,1,2415000.000,37600100.000\r\nJ4,1,2415000.000,37600000.000\r\n\
            J1,1,2415100.000,37600000.000\r\n\
            J5,2,2415060.000,37600040.000\r\nJ6,2,2415040.000,37600040.000\r\n\
            J7,2,2415040.000,37600060.000\r\nJ8,2,2415060.000,37600060.000\r\n\
            J5,2,2415060.000,37600040.000\r\n";
        let (expected_gbk, _, bad) = GBK.encode(expected);
        assert!(!bad);
        assert_eq!(written, expected_gbk.as_ref());

        let back = parse(&written).expect("parses");
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        let mp = back.parcels[0]
            .to_multipolygon(AxisOrder::NorthEast)
            .expect("polygon");
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert!(close(mp.unsigned_area(), 9_600.0));

        // A declared (e.g. ellipsoidal) area is written instead of the planar one.
        let meta = ParcelMeta {
            id: "XZ-02".into(),
            area_ha: Some(0.9598),
            ..ParcelMeta::default()
        };
        let p = parcel_from_multipolygon(&mp_unprefixed(&mp), meta, None, 2);
        assert_eq!(p.declared_area, Some(0.9598));
        assert_eq!(p.rings[0].points[0].y, 600_000.0);
    }

    fn mp_unprefixed(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        use geo::MapCoords;
        mp.map_coords(|c| Coord {
            x: c.x - 37.0e6,
            y: c.y,
        })
    }

    #[test]
    fn writer_refuses_what_the_format_cannot_carry() {
        let mut f = parse_fixture("two_parcels_gbk.txt");
        f.parcels[0].name = "东城,村".into();
        assert_eq!(
            write(&f, TxtEncoding::Gbk).expect_err("comma").to_string(),
            "output line 13: 地块名称 `东城,村` holds a comma, `=` or line break, which the \
             format cannot carry"
        );
        f.parcels[0].name = "东城村😀".into();
        assert_eq!(
            write(&f, TxtEncoding::Gbk).expect_err("emoji").to_string(),
            "output line 13: `😀` has no GBK encoding; write UTF-8 instead"
        );
        let utf8 = write(&f, TxtEncoding::Utf8).expect("utf-8 can");
        assert_eq!(parse(&utf8).expect("parses").parcels[0].name, "东城村😀");
        assert_eq!(
            write(&JzdFile::default(), TxtEncoding::Utf8)
                .expect_err("no parcels")
                .to_string(),
            "line 12: the [地块坐标] section holds no parcel header (`点数,面积,地块编号,…,@`)"
        );
        f.parcels[0].rings.clear();
        assert_eq!(
            write(&f, TxtEncoding::Utf8).expect_err("empty").to_string(),
            "line 13: parcel `DK-01` has no points"
        );
    }

    #[test]
    fn header_datums_and_transform_parameters() {
        let datum = |v: &str| {
            parse_str(&format!(
                "[属性描述]\n坐标系={v}\n[地块坐标]\n3,,A,,线,,,,@\nJ1,1,1,1\nJ2,1,2,2\nJ3,1,3,3\n"
            ))
            .header
            .datum
        };
        assert_eq!(datum("1980西安坐标系"), Datum::Xian80);
        assert_eq!(datum("54北京坐标系"), Datum::Beijing54);
        assert_eq!(datum("CGCS2000"), Datum::Cgcs2000);
        assert_eq!(datum("WGS84"), Datum::Unknown("WGS84".into()));
        let none = parse_str("[地块坐标]\n3,,A,,线,,,,@\nJ1,1,1,1\nJ2,1,2,2\nJ3,1,3,3\n");
        assert_eq!(none.header.datum, Datum::Unknown(String::new()));
        assert_eq!(none.header.zone, None);

        let f = parse_str(&format!(
            "[属性描述]\n转换参数=1.5, -2, 3, 0.1, 0.2, 0.3, 4.5\n带号=三十七\n{}",
            "[地块坐标]\n3,,A,,线,,,,@\nJ1,1,1,1\nJ2,1,2,2\nJ3,1,3,3\n"
        ));
        assert_eq!(
            f.header.transform_params,
            Some([1.5, -2.0, 3.0, 0.1, 0.2, 0.3, 4.5])
        );
        assert_eq!(f.header.zone, None);
        assert_eq!(
            f.warnings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec!["line 3: header 带号=`三十七` is not a number; ignored"]
        );
        let partial = parse_str(
            "[属性描述]\n转换参数=1,2,,,,,\n[地块坐标]\n3,,A,,线,,,,@\nJ1,1,1,1\nJ2,1,2,2\nJ3,1,3,3\n",
        );
        assert_eq!(partial.header.transform_params, None);
        let out =
            String::from_utf8(write(&partial, TxtEncoding::Utf8).expect("writes")).expect("utf8");
        assert!(out.contains("\r\n转换参数=1,2,,,,,\r\n"), "{out}");
    }

    #[test]
    fn rings_sharing_a_number_are_split_only_when_they_close_separately() {
        let two = parse_str(&format!(
            "{HEAD}10,,T,,面,,,,@\nJ1,1,2415010,600000\nJ2,1,2415010,600010\nJ3,1,2415000,600010\nJ4,1,2415000,600000\nJ1,1,2415010,600000\n\
             J5,1,2415110,600100\nJ6,1,2415110,600110\nJ7,1,2415100,600110\nJ8,1,2415100,600100\nJ5,1,2415110,600100\n"
        ));
        assert_eq!(two.parcels[0].rings.len(), 2);
        assert!(close(
            two.parcels[0].computed_area_m2(AxisOrder::NorthEast),
            200.0
        ));
        // A ring that passes its first vertex on the way (two triangles meeting at J1) stays one.
        let one = parse_str(&format!(
            "{HEAD}6,,O,,面,,,,@\nJ1,1,2415000,600000\nJ2,1,2415010,600000\nJ3,1,2415010,600010\nJ1,1,2415000,600000\nJ4,1,2414990,600000\nJ1,1,2415000,600000\n"
        ));
        assert_eq!(one.parcels[0].rings.len(), 1);
        assert_eq!(one.parcels[0].rings[0].points.len(), 6);
    }

    #[test]
    fn mixed_zone_prefix_is_reported() {
        let f = parse_str(&format!(
            "{HEAD}4,,M,,面,,,,@\nJ1,1,2415010,37600000\nJ2,1,2415010,37600010\nJ3,1,2415000,600010\nJ1,1,2415010,37600000\n"
        ));
        assert_eq!(
            f.warnings,
            vec![JzdWarning::MixedZonePrefix {
                prefixed: 3,
                unprefixed: 1,
                line: 10
            }]
        );
    }

    #[test]
    fn other_encodings_and_line_ends() {
        let text = format!(
            "{HEAD}4,,U,地块,面,,,,@\nJ1,1,2415010,600000\nJ2,1,2415010,600010\nJ3,1,2415000,600010\nJ1,1,2415010,600000\n"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let f = parse(&utf16).expect("UTF-16LE with BOM");
        assert_eq!(f.parcels[0].name, "地块");
        let mac = parse(text.replace('\n', "\r").as_bytes()).expect("CR line ends");
        assert_eq!(mac.parcels[0].rings[0].points.len(), 4);
        // A header line that lost its `@` is still a header; extra point fields are ignored.
        let g = parse_str(&format!(
            "{HEAD}4,,V,,面,,,\nJ1,1,2415010,600000,0\nJ2,1,2415010,600010,0\nJ3,1,2415000,600010,0\nJ1,1,2415010,600000,0\n"
        ));
        assert_eq!(g.parcels[0].id, "V");
        assert!(close(
            g.parcels[0].computed_area_m2(AxisOrder::NorthEast),
            50.0
        ));
    }
}
