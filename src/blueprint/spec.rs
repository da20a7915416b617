//! What a layer is and where it comes from: the `[[layer]]` entry of a blueprint manifest, also
//! stored with every layer version so a version always knows how it was made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::geometry::validate::RepairPolicy;
use crate::layer::{GeomKind, LayerRole};

/// The class field of a layer and the code system its values belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    pub field: String,
    pub system: String,
}

/// Who issued a plan layer and under which approval: quoted on every result that uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// 编制/发布单位.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_body: Option<String>,
    /// 批准文号.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_no: Option<String>,
    /// 批准日期 (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_date: Option<String>,
    /// 数据年份 / 现势性, e.g. "2023年国土变更调查".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vintage: Option<String>,
}

/// One layer of a blueprint: identity, meaning, source and how to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Stable id used by rules, the checklist template and the API (`kg`, `yjjbnt` …).
    pub id: String,
    pub role: LayerRole,
    /// Chinese display name (控制性详细规划, 永久基本农田 …).
    #[serde(default)]
    pub title: String,
    /// The source file, relative to the manifest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Layer inside a multi-layer source (GeoPackage, FileGDB, KML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_layer: Option<String>,
    /// The source's own feature id; kept through every output. Without it the 1-based feature
    /// position is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<ClassSpec>,
    /// Attribute text encoding (e.g. `GBK`) when the source does not declare it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The source CRS when the file does not carry one (EPSG:…, GCJ02).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
    /// Expected geometry kind; by default taken from the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<GeomKind>,
    /// CAD layers to take from a DXF (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cad_layers: Vec<String>,
    #[serde(default)]
    pub repair: RepairPolicy,
    /// Import the valid features even when some are rejected (they are listed in the report).
    #[serde(default)]
    pub allow_rejects: bool,
    #[serde(default)]
    pub provenance: Provenance,
    /// Semantic field mapping used by the site check and the checklist
    /// (e.g. `far_max = "RJLSX"`, `radius_m = "BHBJ"`, `valid_until = "YXQZ"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl LayerSpec {
    pub fn new(id: &str, role: LayerRole) -> Self {
        LayerSpec {
            id: id.to_string(),
            role,
            title: String::new(),
            source: String::new(),
            source_layer: None,
            id_field: None,
            class: None,
            encoding: None,
            crs: None,
            kind: None,
            cad_layers: Vec::new(),
            repair: RepairPolicy::Repair,
            allow_rejects: false,
            provenance: Provenance::default(),
            fields: BTreeMap::new(),
        }
    }

    /// The display title, falling back to the id.
    pub fn display_title(&self) -> &str {
        if self.title.is_empty() {
            &self.id
        } else {
            &self.title
        }
    }

    /// The source field mapped to semantic field `key`, if any.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Layer ids appear in file names, URLs and SQL: keep them to a safe alphabet.
pub fn check_layer_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "layer id `{id}` must be 1–64 ASCII letters, digits, `_` or `-`, starting with a letter \
             or digit"
        ))
    }
}
