//! Reconciliation rules as data (TOML): which features of which layer conflict with which
//! features of another, how severe it is, and the 差异类型 code to export.
//!
//! A rule reads "features of `subject` where <predicate> **overlap** / lie **outside** features of
//! `other` where <predicate>". Predicates use the flags of the class code tables
//! ([`crate::codes`]) and code patterns, so the same rule works whatever code system a layer
//! uses. Default rules: `data/rules/default.toml` (embedded).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::blueprint::LayerSpec;
use crate::codes::{Classification, CodeTables, Construction};
use crate::layer::GeomKind;

/// The default rule set shipped with lantu.
pub const DEFAULT_RULES: &str = include_str!("../data/rules/default.toml");

#[derive(Debug, Error)]
pub enum RuleError {
    #[error("rules {origin}: {reason}")]
    Parse { origin: String, reason: String },
    #[error("rule `{rule}`: {reason}")]
    Invalid { rule: String, reason: String },
}

/// One value or a list of values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A predicate on a feature's class. Every given condition must hold; an empty predicate
/// matches every feature.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassPredicate {
    /// `yes`, `no`, `conditional` (or a list of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub construction: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urban_construction: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub farmland: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecological: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sea: Option<bool>,
    /// Code patterns (`R*`, `M1`, `0?0`): the class must match one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// Code patterns the class must not match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_codes: Vec<String>,
}

impl ClassPredicate {
    pub fn is_empty(&self) -> bool {
        *self == ClassPredicate::default()
    }

    fn needs_flags(&self) -> bool {
        self.construction.is_some()
            || self.urban_construction.is_some()
            || self.farmland.is_some()
            || self.ecological.is_some()
            || self.sea.is_some()
    }

    fn check(&self, rule: &str) -> Result<(), RuleError> {
        if let Some(c) = &self.construction {
            for v in c.values() {
                if !matches!(v, "yes" | "no" | "conditional" | "unknown") {
                    return Err(RuleError::Invalid {
                        rule: rule.to_string(),
                        reason: format!(
                            "construction = `{v}` (expected yes, no, conditional or unknown)"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether a feature with this classification matches. `codes` are the table codes the raw
    /// class resolved to (several for composite codes); the raw code is tried too.
    pub fn matches(&self, c: Option<&Classification>) -> bool {
        if self.is_empty() {
            return true;
        }
        let Some(c) = c else { return false };
        if let Some(want) = &self.construction {
            let have = match c.flags.construction {
                Construction::Yes => "yes",
                Construction::No => "no",
                Construction::Conditional => "conditional",
                Construction::Unknown => "unknown",
            };
            if !want.values().contains(&have) {
                return false;
            }
        }
        let flag_ok = |want: Option<bool>, have: bool| want.is_none_or(|w| w == have);
        if !flag_ok(self.urban_construction, c.flags.urban_construction)
            || !flag_ok(self.farmland, c.flags.farmland)
            || !flag_ok(self.ecological, c.flags.ecological)
            || !flag_ok(self.sea, c.flags.sea)
        {
            return false;
        }
        let mut candidates: Vec<&str> = c.parts.iter().filter_map(|p| p.code.as_deref()).collect();
        candidates.push(c.raw.trim());
        if !self.codes.is_empty()
            && !candidates
                .iter()
                .any(|code| self.codes.iter().any(|p| glob(p, code)))
        {
            return false;
        }
        if candidates
            .iter()
            .any(|code| self.not_codes.iter().any(|p| glob(p, code)))
        {
            return false;
        }
        true
    }
}

/// `*` (any run) and `?` (one character) wildcards, case-insensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_uppercase().chars().collect();
    let t: Vec<char> = text.to_uppercase().chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A layer and a predicate on its features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerRef {
    pub layer: String,
    #[serde(
        default,
        rename = "where",
        skip_serializing_if = "ClassPredicate::is_empty"
    )]
    pub predicate: ClassPredicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
            Severity::Critical => "严重",
        }
    }
}

/// Thresholds of the sliver policy (all run parameters; echoed in every output).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliverPolicy {
    /// Pieces smaller than this are numerical noise and dropped.
    #[serde(default = "default_min_area")]
    pub min_area_m2: f64,
    /// Pieces that vanish under a negative buffer of half this width are boundary slivers and
    /// dropped; 0 disables the test.
    #[serde(default = "default_min_width")]
    pub min_width_m: f64,
    /// Pieces smaller than this are kept and flagged 细碎.
    #[serde(default = "default_fine_area")]
    pub fine_area_m2: f64,
}

fn default_min_area() -> f64 {
    1.0
}
fn default_min_width() -> f64 {
    1.0
}
fn default_fine_area() -> f64 {
    200.0
}

impl Default for SliverPolicy {
    fn default() -> Self {
        SliverPolicy {
            min_area_m2: default_min_area(),
            min_width_m: default_min_width(),
            fine_area_m2: default_fine_area(),
        }
    }
}

/// Layers the per-piece ledger flags are computed against.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagLayers {
    /// 永久基本农田 (JBNT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub farmland: Option<String>,
    /// 生态保护红线 (STHX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red_line: Option<String>,
    /// 城镇开发边界 (KFBJ): flagged when a piece lies (partly) outside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
}

/// How a rule compares the subject with the other layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clause {
    Overlaps,
    Outside,
}

impl Clause {
    /// As outputs and the API name it.
    pub fn label(self) -> &'static str {
        match self {
            Clause::Overlaps => "overlaps",
            Clause::Outside => "outside",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub category: String,
    /// 差异类型代码 written to exports (CYLXDM).
    #[serde(default)]
    pub diff_type: String,
    pub severity: Severity,
    pub subject: LayerRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlaps: Option<LayerRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside: Option<LayerRef>,
    /// Compute the farmland / red line / boundary flags for this rule's pieces.
    #[serde(default)]
    pub flags: bool,
    /// Include this rule's pieces in the subject class × other class cross-tab.
    #[serde(default)]
    pub crosstab: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliver: Option<SliverPolicy>,
    /// The regulation or reason behind the rule, quoted in reports.
    #[serde(default)]
    pub basis: String,
}

impl Rule {
    pub fn clause(&self) -> Clause {
        if self.outside.is_some() {
            Clause::Outside
        } else {
            Clause::Overlaps
        }
    }

    pub fn other(&self) -> &LayerRef {
        match (&self.overlaps, &self.outside) {
            (Some(o), _) | (None, Some(o)) => o,
            (None, None) => &self.subject,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    #[serde(default)]
    pub sliver: SliverPolicy,
    #[serde(default)]
    pub flags: FlagLayers,
    #[serde(rename = "rule", default)]
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Every layer the rules read: subjects, others, and the flag layers when a rule flags its
    /// pieces.
    pub fn layers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |id: &String| {
            if !out.contains(id) {
                out.push(id.clone());
            }
        };
        let mut flagged = false;
        for r in &self.rules {
            add(&r.subject.layer);
            add(&r.other().layer);
            flagged |= r.flags;
        }
        if flagged {
            let flags = [
                &self.flags.farmland,
                &self.flags.red_line,
                &self.flags.boundary,
            ];
            flags.into_iter().flatten().for_each(add);
        }
        out
    }

    pub fn parse(text: &str, origin: &str) -> Result<RuleSet, RuleError> {
        let set: RuleSet = toml::from_str(text).map_err(|e| RuleError::Parse {
            origin: origin.to_string(),
            reason: e.to_string(),
        })?;
        set.check()?;
        Ok(set)
    }

    pub fn load(path: &Path) -> Result<RuleSet, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuleError::Parse {
            origin: path.display().to_string(),
            reason: e.to_string(),
        })?;
        RuleSet::parse(&text, &path.display().to_string())
    }

    /// The rules the blueprint's manifest names, else the built-in default.
    pub fn for_blueprint(meta: &crate::store::BlueprintVersion) -> Result<RuleSet, RuleError> {
        match meta.setting_path("rules") {
            Some(p) => RuleSet::load(p),
            None => RuleSet::default_rules(),
        }
    }

    pub fn default_rules() -> Result<RuleSet, RuleError> {
        RuleSet::parse(DEFAULT_RULES, "data/rules/default.toml")
    }

    fn check(&self) -> Result<(), RuleError> {
        let mut seen = std::collections::HashSet::new();
        if self.rules.is_empty() {
            return Err(RuleError::Parse {
                origin: "rule set".into(),
                reason: "no [[rule]] entries".into(),
            });
        }
        for r in &self.rules {
            let bad = |reason: String| RuleError::Invalid {
                rule: r.id.clone(),
                reason,
            };
            if !seen.insert(r.id.as_str()) {
                return Err(bad("the id appears twice".into()));
            }
            match (&r.overlaps, &r.outside) {
                (Some(_), Some(_)) => {
                    return Err(bad("give `overlaps` or `outside`, not both".into()));
                }
                (None, None) => return Err(bad("needs `overlaps` or `outside`".into())),
                _ => {}
            }
            r.subject.predicate.check(&r.id)?;
            r.other().predicate.check(&r.id)?;
        }
        Ok(())
    }

    /// Checks the rules against a blueprint: layers exist, are polygon layers, and have a class
    /// system where a predicate needs one. Returns the rules that can run and the reasons others
    /// cannot (a rule naming a layer the blueprint lacks is skipped, and reported).
    /// The rules whose layers exist as polygon layers with the class fields their `where`
    /// needs, and the reason each other rule is skipped. `layer` describes a layer by id: its
    /// geometry kind and spec, `None` when the blueprint has no such layer.
    pub fn resolve<'l>(
        &self,
        layer: &dyn Fn(&str) -> Option<(GeomKind, &'l LayerSpec)>,
    ) -> (Vec<Rule>, BTreeMap<String, String>) {
        let mut ok = Vec::new();
        let mut skipped = BTreeMap::new();
        for r in &self.rules {
            match check_against(r, layer) {
                Ok(()) => ok.push(r.clone()),
                Err(reason) => {
                    skipped.insert(r.id.clone(), reason);
                }
            }
        }
        (ok, skipped)
    }
}

fn check_against<'l>(
    r: &Rule,
    layer: &dyn Fn(&str) -> Option<(GeomKind, &'l LayerSpec)>,
) -> Result<(), String> {
    for side in [&r.subject, r.other()] {
        let (kind, spec) = layer(&side.layer)
            .ok_or_else(|| format!("the blueprint has no layer `{}`", side.layer))?;
        if kind != GeomKind::Polygon {
            return Err(format!("layer `{}` is not a polygon layer", side.layer));
        }
        let p = &side.predicate;
        if p.needs_flags() || !p.codes.is_empty() || !p.not_codes.is_empty() {
            let spec = spec
                .class
                .as_ref()
                .ok_or_else(|| format!("layer `{}` has no class field for `where`", side.layer))?;
            CodeTables::builtin()
                .system(&spec.system)
                .map_err(|e| format!("layer `{}`: {e}", side.layer))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_parse() {
        let set = RuleSet::default_rules().expect("default rules");
        assert!(set.rules.len() >= 10);
        assert_eq!(set.sliver, SliverPolicy::default());
        let r = set
            .rules
            .iter()
            .find(|r| r.id == "js-kfbj-out")
            .expect("outside rule");
        assert_eq!(r.clause(), Clause::Outside);
        assert_eq!(r.other().layer, "czkfbj");
    }

    #[test]
    fn globbing() {
        assert!(glob("R*", "R2"));
        assert!(glob("r*", "R2/B1"));
        assert!(glob("0?0", "020"));
        assert!(!glob("0?0", "021x"));
        assert!(glob("U3*", "U31"));
        assert!(!glob("E*", "R2"));
    }

    #[test]
    fn bad_rules_are_named() {
        let e = RuleSet::parse(
            "[[rule]]\nid='x'\nname='n'\nseverity='high'\nsubject={layer='a'}\n",
            "t",
        )
        .expect_err("no clause");
        assert!(e.to_string().contains("rule `x`"), "{e}");
        let e = RuleSet::parse(
            "[[rule]]\nid='x'\nname='n'\nseverity='high'\nsubject={layer='a', where={construction='maybe'}}\noverlaps={layer='b'}\n",
            "t",
        )
        .expect_err("bad value");
        assert!(e.to_string().contains("maybe"), "{e}");
    }
}
