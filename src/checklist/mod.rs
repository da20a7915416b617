//! The 土地资源和技术控制指标清单: a template (TOML, data) filled from a site analysis into a
//! checklist that carries the site identity, every item with value, unit, department, source
//! layer version and basis, the control-line verdicts, the SPGL fields, the blueprint version,
//! the parameters — and a SHA-256 over its canonical JSON, so a printed annex can be verified.

pub mod build;
pub mod map;
pub mod project_code;
pub mod registry;

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

pub use build::build;

/// The default template shipped with lantu.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../data/checklist/default.toml");

#[derive(Debug, Error)]
pub enum ChecklistError {
    #[error("checklist template {origin}: {reason}")]
    Template { origin: String, reason: String },
    #[error("project code `{code}`: {reason}")]
    ProjectCode { code: String, reason: String },
    #[error("checklist JSON: {0}")]
    Json(String),
}

/// A value chosen by class pattern (section G).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassCase {
    pub codes: Vec<String>,
    pub value: String,
}

/// One item of the template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateItem {
    pub id: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub layer: Option<String>,
    #[serde(default)]
    pub layers: Vec<String>,
    #[serde(default)]
    pub assessment: Option<String>,
    #[serde(default)]
    pub urban: Option<String>,
    #[serde(default)]
    pub landuse: Option<String>,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub basis: String,
    #[serde(default)]
    pub warn: String,
    #[serde(default)]
    pub ok: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub cases: Vec<ClassCase>,
    #[serde(default)]
    pub otherwise: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    pub id: String,
    pub title: String,
    #[serde(rename = "item", default)]
    pub items: Vec<TemplateItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub title: String,
    pub version: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(rename = "section", default)]
    pub sections: Vec<TemplateSection>,
}

const KINDS: [&str; 16] = [
    "site_id",
    "site_name",
    "project_code",
    "site_area",
    "site_point",
    "site_town",
    "classes",
    "overlap",
    "inside",
    "two_plan",
    "indicators",
    "proximity",
    "assessment",
    "text",
    "by_class",
    "note",
];

impl Template {
    pub fn parse(text: &str, origin: &str) -> Result<Template, ChecklistError> {
        let t: Template = toml::from_str(text).map_err(|e| ChecklistError::Template {
            origin: origin.to_string(),
            reason: e.to_string(),
        })?;
        let mut seen = std::collections::HashSet::new();
        for s in &t.sections {
            for i in &s.items {
                let bad = |reason: String| ChecklistError::Template {
                    origin: origin.to_string(),
                    reason: format!("item {}: {reason}", i.id),
                };
                if !seen.insert(i.id.clone()) {
                    return Err(bad("the id appears twice".into()));
                }
                if !KINDS.contains(&i.kind.as_str()) {
                    return Err(bad(format!(
                        "unknown kind `{}` (kinds: {})",
                        i.kind,
                        KINDS.join(", ")
                    )));
                }
                let needs_layer = matches!(
                    i.kind.as_str(),
                    "classes" | "overlap" | "inside" | "indicators" | "assessment" | "by_class"
                );
                if needs_layer && i.layer.is_none() {
                    return Err(bad(format!("kind `{}` needs `layer`", i.kind)));
                }
                if i.kind == "proximity" && i.layers.is_empty() {
                    return Err(bad("kind `proximity` needs `layers`".into()));
                }
                if i.kind == "two_plan" && (i.urban.is_none() || i.landuse.is_none()) {
                    return Err(bad("kind `two_plan` needs `urban` and `landuse`".into()));
                }
            }
        }
        Ok(t)
    }

    pub fn load(path: &Path) -> Result<Template, ChecklistError> {
        let text = std::fs::read_to_string(path).map_err(|e| ChecklistError::Template {
            origin: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Template::parse(&text, &path.display().to_string())
    }

    /// The template the blueprint's manifest names, else the built-in default.
    pub fn for_blueprint(
        meta: &crate::store::BlueprintVersion,
    ) -> Result<Template, ChecklistError> {
        match meta.setting_path("checklist") {
            Some(p) => Template::load(p),
            None => Template::default_template(),
        }
    }

    pub fn default_template() -> Result<Template, ChecklistError> {
        Template::parse(DEFAULT_TEMPLATE, "data/checklist/default.toml")
    }
}

/// Where an item's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub layer: String,
    pub title: String,
    pub version: i64,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vintage: Option<String>,
}

/// How an item reads: fine, a warning to act on, a requirement, or information only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    Required,
    Info,
    NoData,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "符合",
            Status::Warning => "警示",
            Status::Required => "需办理",
            Status::Info => "告知",
            Status::NoData => "无数据",
        }
    }
}

/// A numeric bound of an indicator range: operator and value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    pub op: String,
    pub value: f64,
}

/// An indicator as a range with operators (容积率 `>1.0, ≤2.5`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<Bound>,
    pub unit: String,
    pub text: String,
}

/// One row of an item's detail table (a parcel, a tree, a pipeline, an assessment …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub cells: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<Indicator>,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub name: String,
    /// The answer as it is printed.
    pub value: String,
    pub unit: String,
    pub status: Status,
    pub department: String,
    pub rule: String,
    pub basis: String,
    pub sources: Vec<SourceRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub items: Vec<Item>,
}

/// One 界址点 of the site boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryPoint {
    pub name: String,
    /// Ring number as in the 界址点 TXT (1 = first outer ring, then holes and further parts).
    pub ring: u32,
    /// Northing (X in the survey convention), metres.
    pub x: f64,
    /// Easting (Y), metres, without zone prefix.
    pub y: f64,
}

/// The site as the checklist identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteIdentity {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_code: Option<String>,
    pub area_m2: f64,
    pub ellipsoidal_area_m2: f64,
    pub area_ha: f64,
    pub area_mu: f64,
    pub town: String,
    /// Interior point: easting/northing in the working CRS and CGCS2000 lon/lat.
    pub point_e: f64,
    pub point_n: f64,
    pub lon: f64,
    pub lat: f64,
    pub crs: String,
    pub boundary: Vec<BoundaryPoint>,
}

/// A control-line verdict (永久基本农田, 生态保护红线, 城镇开发边界 …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub item: String,
    pub line: String,
    pub status: Status,
    pub text: String,
    pub area_m2: f64,
}

/// The fields of the national approval system's 项目基本信息表 the checklist fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spgl {
    /// 项目代码.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xmdm: Option<String>,
    /// 是否完成区域评估: 是 when every assessment the template lists covers the site validly.
    pub sfwcqypg: String,
    /// 用地面积 (m², ellipsoidal).
    pub ydmj: f64,
    /// 项目建设地点 X / Y: CGCS2000 longitude / latitude of the interior point.
    pub xmjsddx: f64,
    pub xmjsddy: f64,
    /// 建设地点行政区划代码.
    pub jsddxzqh: String,
}

/// The blueprint a checklist was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlueprintRef {
    pub name: String,
    pub version: i64,
    pub crs: String,
    pub layers: Vec<SourceRef>,
}

/// A checklist, ready to render or to hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checklist {
    pub title: String,
    pub template_version: String,
    pub issuer: String,
    pub issued_at: String,
    pub site: SiteIdentity,
    pub verdicts: Vec<Verdict>,
    pub sections: Vec<Section>,
    pub spgl: Spgl,
    pub blueprint: BlueprintRef,
    pub params: serde_json::Value,
    /// SHA-256 of the canonical JSON of everything else; empty until sealed.
    #[serde(default)]
    pub sha256: String,
}

/// JSON with object keys sorted and no insignificant whitespace: the form that is hashed.
/// Numbers are printed shortest-round-trip (ryu) and parsed back exactly (serde_json's
/// `float_roundtrip`), so a checklist re-read from its JSON hashes to the same value.
pub fn canonical_json(v: &serde_json::Value) -> String {
    // serde_json's Map is ordered by key (no `preserve_order` feature), so serialising the value
    // tree sorts every object; `to_string` emits no whitespace.
    v.to_string()
}

impl Checklist {
    /// The canonical JSON without the hash field.
    pub fn canonical(&self) -> Result<String, ChecklistError> {
        let mut v = serde_json::to_value(self).map_err(|e| ChecklistError::Json(e.to_string()))?;
        if let Some(obj) = v.as_object_mut() {
            obj.remove("sha256");
        }
        Ok(canonical_json(&v))
    }

    /// Computes and stores the SHA-256.
    pub fn seal(&mut self) -> Result<(), ChecklistError> {
        let canon = self.canonical()?;
        self.sha256 = hex::encode(Sha256::digest(canon.as_bytes()));
        Ok(())
    }

    /// The canonical JSON including the hash (what `lantu check --format json` writes).
    pub fn to_json(&self) -> Result<String, ChecklistError> {
        let v = serde_json::to_value(self).map_err(|e| ChecklistError::Json(e.to_string()))?;
        serde_json::to_string_pretty(&v).map_err(|e| ChecklistError::Json(e.to_string()))
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.sections
            .iter()
            .flat_map(|s| s.items.iter())
            .find(|i| i.id == id)
    }
}

/// Outcome of verifying a checklist document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub ok: bool,
    pub claimed: String,
    pub computed: String,
}

/// Verifies the hash of a checklist JSON document (as written by `--format json`).
pub fn verify_json(text: &str) -> Result<Verification, ChecklistError> {
    let mut v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ChecklistError::Json(e.to_string()))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| ChecklistError::Json("not a checklist object".into()))?;
    let claimed = obj
        .remove("sha256")
        .and_then(|h| h.as_str().map(str::to_string))
        .ok_or_else(|| ChecklistError::Json("no `sha256` field".into()))?;
    let computed = hex::encode(Sha256::digest(canonical_json(&v).as_bytes()));
    Ok(Verification {
        ok: computed == claimed,
        claimed,
        computed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_covers_sections_a_to_g() {
        let t = Template::default_template().expect("template");
        let ids: Vec<&str> = t.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["A", "B", "C", "D", "E", "F", "G"]);
        let names: Vec<&str> = t
            .sections
            .iter()
            .flat_map(|s| s.items.iter().map(|i| i.name.as_str()))
            .collect();
        for expected in [
            "地震安全性评价",
            "地质灾害危险性评估",
            "环境影响评价",
            "节能评价",
            "水土保持",
            "压覆重要矿产资源",
            "文物保护单位",
            "历史建筑",
            "古树名木",
            "危险化学品安全",
            "地下管线·供水",
            "地下管线·供电",
            "地下管线·供气",
            "地下管线·通讯",
            "地下管线·雨水",
            "地下管线·污水",
            "是否占用永久基本农田",
            "是否占用生态保护红线",
            "是否位于城镇开发边界内",
        ] {
            assert!(names.contains(&expected), "template lacks {expected}");
        }
    }

    #[test]
    fn bad_templates_are_named() {
        let e = Template::parse(
            "title='t'\nversion='1'\n[[section]]\nid='A'\ntitle='A'\n[[section.item]]\nid='X'\nname='x'\nkind='bogus'\n",
            "t.toml",
        )
        .expect_err("unknown kind");
        assert!(
            e.to_string().contains("item X") && e.to_string().contains("bogus"),
            "{e}"
        );
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"d": [2, 1], "c": "中"}}"#).expect("json");
        assert_eq!(canonical_json(&v), r#"{"a":{"c":"中","d":[2,1]},"b":1}"#);
    }
}
