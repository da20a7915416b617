//! The feature model shared by every stage: a layer version's features in the working CRS,
//! with their source ids, class codes and attributes, plus the in-memory R-tree built once
//! per loaded layer version.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use geo::{BoundingRect, MultiLineString, MultiPoint, MultiPolygon, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::{Deserialize, Serialize};

/// What a layer is for; decides how rules, site checks and the checklist use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum LayerRole {
    /// 城规 / 控规 parcels.
    UrbanPlan,
    /// 土规: planning classes, 建设用地管制区, 土地用途区.
    LandusePlan,
    /// 三线 (永久基本农田, 生态保护红线, 城镇开发边界) and the city 四线.
    ControlLine,
    /// Sector plans (交通, 水利 …).
    Sector,
    /// 区域评估 coverage with validity dates.
    Assessment,
    /// 现状普查: heritage, trees, hazardous sites, pipelines (points and lines too).
    Survey,
    /// Administrative units (镇/街道).
    Boundary,
    /// Candidate sites.
    Site,
    /// Land-survey status (三调 地类图斑).
    Status,
}

impl LayerRole {
    pub const ALL: [LayerRole; 9] = [
        LayerRole::UrbanPlan,
        LayerRole::LandusePlan,
        LayerRole::ControlLine,
        LayerRole::Sector,
        LayerRole::Assessment,
        LayerRole::Survey,
        LayerRole::Boundary,
        LayerRole::Site,
        LayerRole::Status,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LayerRole::UrbanPlan => "urban_plan",
            LayerRole::LandusePlan => "landuse_plan",
            LayerRole::ControlLine => "control_line",
            LayerRole::Sector => "sector",
            LayerRole::Assessment => "assessment",
            LayerRole::Survey => "survey",
            LayerRole::Boundary => "boundary",
            LayerRole::Site => "site",
            LayerRole::Status => "status",
        }
    }
}

impl fmt::Display for LayerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LayerRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LayerRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = LayerRole::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown layer role `{s}` (known: {})", known.join(", "))
            })
    }
}

/// The geometry dimension of a layer: one kind per layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeomKind {
    Polygon,
    Line,
    Point,
}

impl GeomKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GeomKind::Polygon => "polygon",
            GeomKind::Line => "line",
            GeomKind::Point => "point",
        }
    }
}

impl FromStr for GeomKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "polygon" => Ok(GeomKind::Polygon),
            "line" => Ok(GeomKind::Line),
            "point" => Ok(GeomKind::Point),
            other => Err(format!("unknown geometry kind `{other}`")),
        }
    }
}

/// A feature geometry in the working CRS. Always the multi form so a layer has one type.
#[derive(Debug, Clone, PartialEq)]
pub enum Geom {
    Polygon(MultiPolygon<f64>),
    Line(MultiLineString<f64>),
    Point(MultiPoint<f64>),
}

impl Geom {
    pub fn kind(&self) -> GeomKind {
        match self {
            Geom::Polygon(_) => GeomKind::Polygon,
            Geom::Line(_) => GeomKind::Line,
            Geom::Point(_) => GeomKind::Point,
        }
    }

    pub fn bounding_rect(&self) -> Option<Rect<f64>> {
        match self {
            Geom::Polygon(g) => g.bounding_rect(),
            Geom::Line(g) => g.bounding_rect(),
            Geom::Point(g) => g.bounding_rect(),
        }
    }

    pub fn as_polygons(&self) -> Option<&MultiPolygon<f64>> {
        match self {
            Geom::Polygon(g) => Some(g),
            _ => None,
        }
    }

    pub fn vertex_count(&self) -> usize {
        use geo::CoordsIter;
        match self {
            Geom::Polygon(g) => g.coords_count(),
            Geom::Line(g) => g.coords_count(),
            Geom::Point(g) => g.coords_count(),
        }
    }
}

/// Attribute field types kept through import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Int,
    Real,
    Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
}

/// An attribute value. Dates are kept as ISO `YYYY-MM-DD` text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// Numbers, or text that reads as a number (office data often stores numbers as text).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            Value::Text(s) => s.trim().parse::<f64>().ok(),
            Value::Null => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Int(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// One feature of a layer version.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// The source's own feature id (`id_field`), kept through every output.
    pub id: String,
    /// The raw class code as the source wrote it, if the layer has a class field.
    pub class: Option<String>,
    pub geom: Geom,
    /// Values aligned with the layer's `fields`.
    pub attrs: Vec<Value>,
}

/// A layer version's content: schema plus features, all in the working CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerData {
    pub kind: GeomKind,
    pub fields: Vec<Field>,
    pub features: Vec<Feature>,
}

impl LayerData {
    pub fn new(kind: GeomKind, fields: Vec<Field>) -> Self {
        LayerData {
            kind,
            fields,
            features: Vec::new(),
        }
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of attribute `name` on feature `i`, `Null` when the field does not exist.
    pub fn attr(&self, i: usize, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match (self.field_index(name), self.features.get(i)) {
            (Some(f), Some(feat)) => feat.attrs.get(f).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Attributes of one feature as a name → value map (for reports and APIs).
    pub fn attr_map(&self, i: usize) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        if let Some(feat) = self.features.get(i) {
            for (field, value) in self.fields.iter().zip(&feat.attrs) {
                out.insert(field.name.clone(), value.clone());
            }
        }
        out
    }

    pub fn bounding_rect(&self) -> Option<Rect<f64>> {
        let mut acc: Option<Rect<f64>> = None;
        for f in &self.features {
            if let Some(r) = f.geom.bounding_rect() {
                acc = Some(match acc {
                    None => r,
                    Some(a) => union_rect(a, r),
                });
            }
        }
        acc
    }
}

pub fn union_rect(a: Rect<f64>, b: Rect<f64>) -> Rect<f64> {
    Rect::new(
        geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
        geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
    )
}

/// R-tree entry: the feature's envelope and its index in the layer.
pub type IndexEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Node size of the layer R-trees. With rstar's default (6) a bulk-loaded 100 000-feature tree is
/// about log₆ 10⁵ ≈ 7 levels deep, with 16-wide nodes log₁₆ 10⁵ ≈ 5: a query follows fewer
/// pointers, each node a likely cache miss.
#[derive(Debug, Clone, Copy)]
pub struct WideNodes;

impl rstar::RTreeParams for WideNodes {
    const MIN_SIZE: usize = 8;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

/// A bulk-loaded R-tree over a layer's feature envelopes. `RTree` is `Sync`, so one tree is
/// shared by every rayon worker.
#[derive(Debug)]
pub struct LayerIndex {
    tree: RTree<IndexEntry, WideNodes>,
}

impl LayerIndex {
    pub fn build(layer: &LayerData) -> Self {
        let entries: Vec<IndexEntry> = layer
            .features
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let r = f.geom.bounding_rect()?;
                let idx = u32::try_from(i).ok()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    idx,
                ))
            })
            .collect();
        LayerIndex {
            tree: RTree::bulk_load_with_params(entries),
        }
    }

    /// Indices of features whose envelope intersects `rect`.
    pub fn candidates(&self, rect: &Rect<f64>) -> impl Iterator<Item = usize> + '_ {
        let env = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        self.tree
            .locate_in_envelope_intersecting(env)
            .map(|e| e.data as usize)
    }

    pub fn tree(&self) -> &RTree<IndexEntry, WideNodes> {
        &self.tree
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }
}
