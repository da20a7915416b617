//! Class code tables (GB 50137, GB/T 21010 + 三调, 用地用海 2023, 土规) as data.
//!
//! The tables live in `data/codes/*.csv` and are embedded in the binary.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CodeError {
    #[error("unknown code system `{0}` (known: {1})")]
    UnknownSystem(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Construction {
    Yes,
    No,
    Conditional,
    #[default]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ClassFlags {
    pub construction: Construction,
    pub urban_construction: bool,
    pub farmland: bool,
    pub ecological: bool,
    pub sea: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResolveStatus {
    Known,
    PartlyUnknown,
    Unknown,
    Empty,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedPart {
    pub raw: String,
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub raw: String,
    pub parts: Vec<ResolvedPart>,
    pub flags: ClassFlags,
    pub name: String,
    pub status: ResolveStatus,
}

#[derive(Debug, Clone)]
pub struct CodeSystem {
    pub id: String,
    pub name: String,
    entries: HashMap<String, (String, ClassFlags)>,
}

impl CodeSystem {
    pub fn classify(&self, raw: &str) -> Classification {
        let code = raw.trim();
        match self.entries.get(code) {
            Some((name, flags)) => Classification {
                raw: raw.to_string(),
                parts: vec![ResolvedPart {
                    raw: code.to_string(),
                    code: Some(code.to_string()),
                }],
                flags: *flags,
                name: name.clone(),
                status: ResolveStatus::Known,
            },
            None => Classification {
                raw: raw.to_string(),
                parts: Vec::new(),
                flags: ClassFlags::default(),
                name: String::new(),
                status: if code.is_empty() {
                    ResolveStatus::Empty
                } else {
                    ResolveStatus::Unknown
                },
            },
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CodeTables {
    systems: Vec<CodeSystem>,
}

impl CodeTables {
    pub fn builtin() -> &'static CodeTables {
        static TABLES: OnceLock<CodeTables> = OnceLock::new();
        TABLES.get_or_init(CodeTables::default)
    }

    pub fn system(&self, id: &str) -> Result<&CodeSystem, CodeError> {
        self.systems
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| {
                CodeError::UnknownSystem(
                    id.to_string(),
                    self.systems
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })
    }
}
