//! Class code tables (GB 50137, GBJ 137-90, GB/T 21010 + 三调, 用地用海 2023, 土规) as data.
//!
//! The tables live in `data/codes/*.csv` (format and sources in `data/codes/README.md`) and are
//! embedded in the binary, so classification works wherever the binary runs. Users can replace
//! them with their own directory of tables in the same format ([`CodeTables::from_dir`]).
//!
//! A raw class value from a layer goes through [`CodeSystem::classify`]: composite codes are split
//! into parts, every part is resolved against one system only (exact, normalised, or by its longest
//! known prefix), and the parts' flags are combined into one [`ClassFlags`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;
use thiserror::Error;

/// Columns every code table must have (extra columns are ignored).
const TABLE_COLUMNS: [&str; 11] = [
    "code",
    "name",
    "parent",
    "construction",
    "urban_construction",
    "farmland",
    "ecological",
    "sea",
    "land_category",
    "confidence",
    "note",
];

/// Columns of the system registry `systems.csv`.
const REGISTRY_COLUMNS: [&str; 6] = [
    "id",
    "name",
    "aliases",
    "zero_pad",
    "subcode_x0",
    "status_prefixes",
];

const REGISTRY_FILE: &str = "systems.csv";

/// A local suffix longer than this is not a suffix but a different (unknown) code: `R2a` and
/// `080101x` fall back to their prefix, `HELLO` must not fall back to `H`.
const MAX_LOCAL_SUFFIX: usize = 3;

const EMBEDDED_REGISTRY: &str = include_str!("../data/codes/systems.csv");

const EMBEDDED_TABLES: [(&str, &str); 7] = [
    (
        "gb50137_2011.csv",
        include_str!("../data/codes/gb50137_2011.csv"),
    ),
    ("gbj137_90.csv", include_str!("../data/codes/gbj137_90.csv")),
    (
        "gbt21010_2017.csv",
        include_str!("../data/codes/gbt21010_2017.csv"),
    ),
    ("ydyh_2023.csv", include_str!("../data/codes/ydyh_2023.csv")),
    ("tdgh_ghyt.csv", include_str!("../data/codes/tdgh_ghyt.csv")),
    ("tdgh_gzq.csv", include_str!("../data/codes/tdgh_gzq.csv")),
    ("tdgh_ytq.csv", include_str!("../data/codes/tdgh_ytq.csv")),
];

#[derive(Debug, Error)]
pub enum CodeError {
    #[error("unknown code system `{requested}` (known: {known})")]
    UnknownSystem { requested: String, known: String },
    #[error("{file}:{line}: column `{column}`: {message}")]
    Row {
        file: String,
        line: u64,
        column: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Table { file: String, message: String },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The legal 建设用地 three-way split of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Construction {
    Yes,
    No,
    /// 有条件建设区: neither construction nor non-construction in a strict two-plan diff.
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

/// 土地管理法 三大类.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LandCategory {
    /// 农用地
    Agricultural,
    /// 建设用地
    Construction,
    /// 未利用地
    Unused,
}

impl LandCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            LandCategory::Agricultural => "农用地",
            LandCategory::Construction => "建设用地",
            LandCategory::Unused => "未利用地",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "农用地" => Some(LandCategory::Agricultural),
            "建设用地" => Some(LandCategory::Construction),
            "未利用地" => Some(LandCategory::Unused),
            _ => None,
        }
    }
}

/// One row of a code table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassEntry {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub flags: ClassFlags,
    pub land_category: Option<LandCategory>,
    /// Seen in a source (✔ in the domain brief) rather than recalled from a standard's text.
    pub confirmed: bool,
    pub note: String,
}

/// How one part of a raw class value was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Resolution {
    Exact,
    /// After fixing case, spaces, full-width characters, a lost leading zero, an appended name,
    /// a status prefix, or a sub-code (`021`→`020`) where the system allows it.
    Normalised,
    /// A local suffix on a known code: `R2a`→`R2`, `Rax`→`R`, `0101A`→`0101`.
    Prefix,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResolveStatus {
    /// Every part resolved (exactly, normalised or by prefix).
    Known,
    PartlyUnknown,
    Unknown,
    /// Nothing but whitespace and separators.
    Empty,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedPart {
    pub raw: String,
    /// The table code it resolved to.
    pub code: Option<String>,
    pub how: Resolution,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub raw: String,
    pub parts: Vec<ResolvedPart>,
    pub flags: ClassFlags,
    /// Chinese names of the resolved parts joined with "/"; unknown parts add nothing.
    pub name: String,
    pub status: ResolveStatus,
}

/// Per-system normalisation switches, from the registry `systems.csv`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SystemRules {
    /// Numeric codes stored in number fields lose one leading zero (`0101`→`101`, `010`→`10`).
    zero_pad: bool,
    /// Three-digit sub-codes keep their first two digits plus `0` (`021`→`020`).
    subcode_x0: bool,
    /// Status markers written in front of a code (`N112` = newly planned `112`).
    status_prefixes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CodeSystem {
    pub id: String,
    pub name: String,
    aliases: Vec<String>,
    rules: SystemRules,
    entries: Vec<ClassEntry>,
    by_code: HashMap<String, usize>,
    by_upper: HashMap<String, usize>,
    /// Only names that occur once: `住宅用地` under R1, R2 and R3 resolves to nothing.
    by_name: HashMap<String, usize>,
}

impl CodeSystem {
    /// The entry with exactly this code.
    pub fn entry(&self, code: &str) -> Option<&ClassEntry> {
        self.by_code.get(code).map(|&i| &self.entries[i])
    }

    pub fn entries(&self) -> &[ClassEntry] {
        &self.entries
    }

    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }

    /// Resolves a raw class value (possibly composite, e.g. `R2/B1`) against this system only.
    pub fn classify(&self, raw: &str) -> Classification {
        let parts: Vec<ResolvedPart> = raw
            .split(is_separator)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| self.resolve_part(p))
            .collect();
        let entries: Vec<Option<&ClassEntry>> = parts
            .iter()
            .map(|p| p.code.as_deref().and_then(|c| self.entry(c)))
            .collect();
        let known = entries.iter().filter(|e| e.is_some()).count();
        let status = if parts.is_empty() {
            ResolveStatus::Empty
        } else if known == parts.len() {
            ResolveStatus::Known
        } else if known == 0 {
            ResolveStatus::Unknown
        } else {
            ResolveStatus::PartlyUnknown
        };
        let name = entries
            .iter()
            .flatten()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join("/");
        Classification {
            raw: raw.to_string(),
            flags: combine_flags(&entries),
            parts,
            name,
            status,
        }
    }

    fn resolve_part(&self, raw: &str) -> ResolvedPart {
        let part = |i: Option<usize>, how: Resolution| ResolvedPart {
            raw: raw.to_string(),
            code: i.map(|i| self.entries[i].code.clone()),
            how,
        };
        if let Some(&i) = self.by_code.get(raw) {
            return part(Some(i), Resolution::Exact);
        }
        let norm = normalise_text(raw);
        // A code is the leading ASCII run; what follows is an appended name (`R2 二类居住用地`),
        // punctuation, or a local suffix such as `-1`.
        let code_len = norm
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(norm.len());
        let (code, tail) = norm.split_at(code_len);
        let tail_has_code_chars = tail.chars().any(|c| c.is_ascii_alphanumeric());
        if code.is_empty() {
            return match self.by_name.get(&norm) {
                Some(&i) => part(Some(i), Resolution::Normalised),
                None => part(None, Resolution::Unknown),
            };
        }
        if let Some(i) = self.lookup_normalised(code) {
            let how = if tail_has_code_chars {
                Resolution::Prefix
            } else {
                Resolution::Normalised
            };
            return part(Some(i), how);
        }
        if let Some(&i) = self.by_name.get(&norm) {
            return part(Some(i), Resolution::Normalised);
        }
        match self.longest_prefix(code) {
            Some(i) => part(Some(i), Resolution::Prefix),
            None => part(None, Resolution::Unknown),
        }
    }

    /// `code` is upper-case ASCII alphanumeric.
    fn lookup_normalised(&self, code: &str) -> Option<usize> {
        self.lookup_plain(code).or_else(|| {
            self.rules.status_prefixes.iter().find_map(|p| {
                code.strip_prefix(p.as_str())
                    .filter(|rest| !rest.is_empty())
                    .and_then(|rest| self.lookup_plain(rest))
            })
        })
    }

    fn lookup_plain(&self, code: &str) -> Option<usize> {
        for candidate in self.padded_variants(code) {
            if let Some(&i) = self.by_upper.get(&candidate) {
                return Some(i);
            }
            if self.rules.subcode_x0
                && candidate.len() == 3
                && candidate.bytes().all(|b| b.is_ascii_digit())
                && let Some(&i) = self.by_upper.get(&format!("{}0", &candidate[..2]))
            {
                return Some(i);
            }
        }
        None
    }

    fn padded_variants(&self, code: &str) -> Vec<String> {
        let mut v = vec![code.to_string()];
        if self.rules.zero_pad && code.bytes().all(|b| b.is_ascii_digit()) {
            v.push(format!("0{code}"));
        }
        v
    }

    /// The longest proper prefix that is a known code, over the code itself, its zero-padded
    /// form and its status-stripped forms. `code` is ASCII, so byte slicing is safe.
    fn longest_prefix(&self, code: &str) -> Option<usize> {
        let mut candidates = self.padded_variants(code);
        for p in &self.rules.status_prefixes {
            if let Some(rest) = code.strip_prefix(p.as_str()).filter(|r| !r.is_empty()) {
                candidates.extend(self.padded_variants(rest));
            }
        }
        let mut best: Option<(usize, usize)> = None;
        for c in &candidates {
            let shortest = c.len().saturating_sub(MAX_LOCAL_SUFFIX).max(1);
            for len in (shortest..c.len()).rev() {
                if let Some(&i) = self.by_upper.get(&c[..len]) {
                    if best.is_none_or(|(l, _)| len > l) {
                        best = Some((len, i));
                    }
                    break;
                }
            }
        }
        best.map(|(_, i)| i)
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, '/' | '／' | '+' | '＋' | '、' | '，' | ',')
}

/// Full-width ASCII forms and the ideographic space become ASCII.
fn to_half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Half-width, no whitespace, ASCII upper case.
fn normalise_text(s: &str) -> String {
    s.chars()
        .map(to_half_width)
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn combine_flags(entries: &[Option<&ClassEntry>]) -> ClassFlags {
    let known: Vec<&ClassFlags> = entries.iter().flatten().map(|e| &e.flags).collect();
    if known.is_empty() {
        return ClassFlags::default();
    }
    let has = |c: Construction| known.iter().any(|f| f.construction == c);
    let construction = if has(Construction::Yes) {
        Construction::Yes
    } else if has(Construction::Conditional) {
        Construction::Conditional
    } else if known.len() == entries.len()
        && known.iter().all(|f| f.construction == Construction::No)
    {
        Construction::No
    } else {
        // An unknown part could be construction land: "no" would be a guess.
        Construction::Unknown
    };
    ClassFlags {
        construction,
        urban_construction: known.iter().any(|f| f.urban_construction),
        farmland: known.iter().any(|f| f.farmland),
        ecological: known.iter().any(|f| f.ecological),
        sea: known.iter().any(|f| f.sea),
    }
}

/// Tells GB 50137-2011 from GBJ 137-90 by the top-level letters in use: C/T/D exist only in the
/// 1990 edition, A/B/H only in 2011. Mixed or neither gives `None`.
pub fn detect_urban_edition<'a>(codes: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let (mut old, mut new) = (false, false);
    for raw in codes {
        for part in raw.split(is_separator) {
            let norm = normalise_text(part);
            let mut chars = norm.chars();
            let Some(first) = chars.next() else { continue };
            // `C2` or `C` is a class code; `BUS` or `CBD` is a word, not evidence.
            if !chars.next().is_none_or(|c| c.is_ascii_digit()) {
                continue;
            }
            match first {
                'C' | 'T' | 'D' => old = true,
                'A' | 'B' | 'H' => new = true,
                _ => {}
            }
        }
    }
    match (old, new) {
        (true, false) => Some("GBJ137-90"),
        (false, true) => Some("GB50137-2011"),
        _ => None,
    }
}

/// All code systems.
#[derive(Debug, Clone, Default)]
pub struct CodeTables {
    systems: Vec<CodeSystem>,
}

impl CodeTables {
    /// The tables embedded in the binary. A table that fails to parse is left out and logged;
    /// a unit test keeps that from ever happening to a release.
    pub fn builtin() -> &'static CodeTables {
        static TABLES: OnceLock<CodeTables> = OnceLock::new();
        TABLES.get_or_init(|| {
            let (tables, errors) = Self::load_embedded();
            for e in &errors {
                tracing::error!("built-in code table left out: {e}");
            }
            tables
        })
    }

    fn load_embedded() -> (CodeTables, Vec<CodeError>) {
        let mut errors = Vec::new();
        let registry = match parse_registry(REGISTRY_FILE, EMBEDDED_REGISTRY) {
            Ok(r) => r,
            Err(e) => return (CodeTables::default(), vec![e]),
        };
        let mut systems = Vec::new();
        for reg in registry {
            let file = table_file_name(&reg.id);
            let Some((_, text)) = EMBEDDED_TABLES.iter().find(|(f, _)| *f == file) else {
                errors.push(CodeError::Table {
                    file,
                    message: format!("system `{}` has no embedded table", reg.id),
                });
                continue;
            };
            match build_system(reg, &file, text) {
                Ok(s) => systems.push(s),
                Err(e) => errors.push(e),
            }
        }
        let mut tables = CodeTables::default();
        for s in systems {
            if let Err(e) = tables.push(s) {
                errors.push(e);
            }
        }
        (tables, errors)
    }

    /// User-supplied tables in the embedded format. With a `systems.csv` registry its rows name
    /// the systems (table file = id lower-cased with `-`→`_`, plus `.csv`); without one every
    /// `*.csv` is a system whose id is the file stem upper-cased with `_`→`-`.
    pub fn from_dir(dir: &Path) -> Result<CodeTables, CodeError> {
        let registry_path = dir.join(REGISTRY_FILE);
        let registry = if registry_path.is_file() {
            parse_registry(REGISTRY_FILE, &read_utf8(&registry_path)?)?
        } else {
            let listing = std::fs::read_dir(dir).map_err(|source| CodeError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut stems = Vec::new();
            for item in listing {
                let item = item.map_err(|source| CodeError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?;
                let path = item.path();
                let is_csv = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
                let stem = path.file_stem().and_then(|s| s.to_str());
                let file = path.file_name().and_then(|s| s.to_str());
                if let (true, Some(stem), Some(file)) = (is_csv, stem, file) {
                    stems.push((stem.to_string(), file.to_string()));
                }
            }
            stems.sort();
            stems
                .into_iter()
                .map(|(stem, file)| {
                    let id = stem.to_uppercase().replace('_', "-");
                    Registered {
                        name: id.clone(),
                        id,
                        file: Some(file),
                        aliases: Vec::new(),
                        rules: SystemRules::default(),
                    }
                })
                .collect()
        };
        let mut tables = CodeTables::default();
        for reg in registry {
            let file = reg.file.clone().unwrap_or_else(|| table_file_name(&reg.id));
            let text = read_utf8(&dir.join(&file))?;
            tables.push(build_system(reg, &file, &text)?)?;
        }
        Ok(tables)
    }

    /// Accepts the id or an alias, ignoring case, spaces, `/` and `_`/`-` differences
    /// (`gb/t 21010-2017`, `GBT21010`, `gzq`).
    pub fn system(&self, id: &str) -> Result<&CodeSystem, CodeError> {
        let key = system_key(id);
        self.systems
            .iter()
            .find(|s| system_key(&s.id) == key || s.aliases.iter().any(|a| system_key(a) == key))
            .ok_or_else(|| CodeError::UnknownSystem {
                requested: id.to_string(),
                known: self
                    .systems
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn systems(&self) -> impl Iterator<Item = &CodeSystem> {
        self.systems.iter()
    }

    /// Adds a system unless its id or an alias already names another one.
    fn push(&mut self, system: CodeSystem) -> Result<(), CodeError> {
        let taken: HashSet<String> = self
            .systems
            .iter()
            .flat_map(|s| std::iter::once(&s.id).chain(&s.aliases))
            .map(|n| system_key(n))
            .collect();
        let clash = std::iter::once(&system.id)
            .chain(&system.aliases)
            .find(|n| taken.contains(&system_key(n)));
        if let Some(name) = clash {
            return Err(CodeError::Table {
                file: table_file_name(&system.id),
                message: format!("system name `{name}` is already used by another system"),
            });
        }
        self.systems.push(system);
        Ok(())
    }
}

fn table_file_name(id: &str) -> String {
    format!("{}.csv", id.to_lowercase().replace('-', "_"))
}

fn system_key(s: &str) -> String {
    s.chars()
        .map(to_half_width)
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .filter(|c| c.is_alphanumeric() || *c == '-')
        .collect()
}

fn read_utf8(path: &Path) -> Result<String, CodeError> {
    let bytes = std::fs::read(path).map_err(|source| CodeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| CodeError::Table {
        file: path.display().to_string(),
        message: "not UTF-8 (save the table as UTF-8 CSV)".to_string(),
    })
}

struct Registered {
    id: String,
    /// The table's file name when it is not derived from the id.
    file: Option<String>,
    name: String,
    aliases: Vec<String>,
    rules: SystemRules,
}

/// A parsed CSV: the header's column positions and the records with their line numbers.
struct Csv {
    columns: HashMap<String, usize>,
    records: Vec<(u64, csv::StringRecord)>,
}

impl Csv {
    fn parse(file: &str, text: &str, required: &[&str]) -> Result<Csv, CodeError> {
        // Spreadsheet programs save CSV with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let csv_error = |e: csv::Error| CodeError::Table {
            file: file.to_string(),
            message: match e.position() {
                Some(p) => format!("line {}: {e}", p.line()),
                None => e.to_string(),
            },
        };
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let columns: HashMap<String, usize> = reader
            .headers()
            .map_err(csv_error)?
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_string(), i))
            .collect();
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(CodeError::Table {
                file: file.to_string(),
                message: format!("missing column `{missing}`"),
            });
        }
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, |p| p.line());
            records.push((line, record));
        }
        Ok(Csv { columns, records })
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.columns
            .get(column)
            .and_then(|&i| record.get(i))
            .map_or("", str::trim)
    }
}

fn row_error(file: &str, line: u64, column: &str, message: String) -> CodeError {
    CodeError::Row {
        file: file.to_string(),
        line,
        column: column.to_string(),
        message,
    }
}

fn parse_flag(file: &str, line: u64, column: &str, value: &str) -> Result<bool, CodeError> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(row_error(
            file,
            line,
            column,
            format!("`{other}` is not 1 or 0"),
        )),
    }
}

fn parse_registry(file: &str, text: &str) -> Result<Vec<Registered>, CodeError> {
    let csv = Csv::parse(file, text, &REGISTRY_COLUMNS)?;
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect()
    };
    let flag = |line: u64, column: &str, value: &str| match value {
        "" => Ok(false),
        v => parse_flag(file, line, column, v),
    };
    let mut out = Vec::new();
    for (line, r) in &csv.records {
        let id = csv.get(r, "id");
        if id.is_empty() {
            return Err(row_error(file, *line, "id", "empty system id".to_string()));
        }
        let name = csv.get(r, "name");
        out.push(Registered {
            id: id.to_string(),
            file: None,
            name: if name.is_empty() { id } else { name }.to_string(),
            aliases: list(csv.get(r, "aliases")),
            rules: SystemRules {
                zero_pad: flag(*line, "zero_pad", csv.get(r, "zero_pad"))?,
                subcode_x0: flag(*line, "subcode_x0", csv.get(r, "subcode_x0"))?,
                status_prefixes: list(csv.get(r, "status_prefixes"))
                    .into_iter()
                    .map(|p| p.to_ascii_uppercase())
                    .collect(),
            },
        });
    }
    Ok(out)
}

fn build_system(reg: Registered, file: &str, text: &str) -> Result<CodeSystem, CodeError> {
    let csv = Csv::parse(file, text, &TABLE_COLUMNS)?;
    let mut entries = Vec::with_capacity(csv.records.len());
    let mut lines = Vec::with_capacity(csv.records.len());
    let mut by_code = HashMap::new();
    let mut by_upper: HashMap<String, usize> = HashMap::new();
    for (line, r) in &csv.records {
        let line = *line;
        let err = |column: &str, message: String| row_error(file, line, column, message);
        let code = csv.get(r, "code");
        if code.is_empty() {
            return Err(err("code", "empty code".to_string()));
        }
        if code.chars().any(|c| c.is_whitespace() || is_separator(c)) {
            return Err(err(
                "code",
                format!("`{code}` contains a space or a composite-code separator"),
            ));
        }
        let index = entries.len();
        if let Some(&first) = by_upper.get(&code.to_ascii_uppercase()) {
            return Err(err(
                "code",
                format!(
                    "duplicate code `{code}` (first on line {}; codes are compared ignoring case)",
                    lines[first]
                ),
            ));
        }
        let name = csv.get(r, "name");
        if name.is_empty() {
            return Err(err("name", "empty name".to_string()));
        }
        let parent = csv.get(r, "parent");
        if parent == code {
            return Err(err("parent", format!("`{code}` is its own parent")));
        }
        let construction = match csv.get(r, "construction") {
            "yes" => Construction::Yes,
            "no" => Construction::No,
            "conditional" => Construction::Conditional,
            "" => Construction::Unknown,
            other => {
                return Err(err(
                    "construction",
                    format!("`{other}` is not yes, no, conditional or empty"),
                ));
            }
        };
        let flag = |column: &str| parse_flag(file, line, column, csv.get(r, column));
        let flags = ClassFlags {
            construction,
            urban_construction: flag("urban_construction")?,
            farmland: flag("farmland")?,
            ecological: flag("ecological")?,
            sea: flag("sea")?,
        };
        let land_category = match csv.get(r, "land_category") {
            "" => None,
            s => Some(LandCategory::parse(s).ok_or_else(|| {
                err(
                    "land_category",
                    format!("`{s}` is not 农用地, 建设用地, 未利用地 or empty"),
                )
            })?),
        };
        let confirmed = match csv.get(r, "confidence") {
            "confirmed" => true,
            "unconfirmed" => false,
            other => {
                return Err(err(
                    "confidence",
                    format!("`{other}` is not confirmed or unconfirmed"),
                ));
            }
        };
        by_code.insert(code.to_string(), index);
        by_upper.insert(code.to_ascii_uppercase(), index);
        lines.push(line);
        entries.push(ClassEntry {
            code: code.to_string(),
            name: name.to_string(),
            parent: (!parent.is_empty()).then(|| parent.to_string()),
            flags,
            land_category,
            confirmed,
            note: csv.get(r, "note").to_string(),
        });
    }
    for (entry, &line) in entries.iter().zip(&lines) {
        if let Some(p) = &entry.parent
            && !by_code.contains_key(p)
        {
            return Err(row_error(
                file,
                line,
                "parent",
                format!("parent `{p}` is not a code of this table"),
            ));
        }
    }
    let mut name_count: HashMap<String, usize> = HashMap::new();
    for e in &entries {
        *name_count.entry(normalise_text(&e.name)).or_default() += 1;
    }
    let by_name = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (normalise_text(&e.name), i))
        .filter(|(n, _)| name_count.get(n) == Some(&1))
        .collect();
    Ok(CodeSystem {
        id: reg.id,
        name: reg.name,
        aliases: reg.aliases,
        rules: reg.rules,
        entries,
        by_code,
        by_upper,
        by_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys(id: &str) -> &'static CodeSystem {
        CodeTables::builtin().system(id).expect("built-in system")
    }

    fn entry(system: &str, code: &str) -> &'static ClassEntry {
        let e = sys(system).entry(code);
        assert!(e.is_some(), "{system} has no {code}");
        e.expect("asserted above")
    }

    fn one(system: &str, raw: &str) -> (Option<String>, Resolution) {
        let c = sys(system).classify(raw);
        assert_eq!(c.parts.len(), 1, "{raw}: {:?}", c.parts);
        (c.parts[0].code.clone(), c.parts[0].how)
    }

    #[test]
    fn every_embedded_table_parses_and_is_registered() {
        let (tables, errors) = CodeTables::load_embedded();
        assert!(errors.is_empty(), "{errors:?}");
        let ids: Vec<&str> = tables.systems().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "GB50137-2011",
                "GBJ137-90",
                "GBT21010-2017",
                "YDYH-2023",
                "TDGH-GHYT",
                "TDGH-GZQ",
                "TDGH-YTQ"
            ]
        );
        for (file, _) in EMBEDDED_TABLES {
            assert!(
                ids.iter().any(|id| table_file_name(id) == file),
                "{file} is embedded but not registered"
            );
        }
    }

    #[test]
    fn codes_are_unique_and_parents_exist() {
        for s in CodeTables::builtin().systems() {
            let mut seen = HashSet::new();
            for e in s.entries() {
                assert!(
                    seen.insert(e.code.to_ascii_uppercase()),
                    "{} {}",
                    s.id,
                    e.code
                );
                if let Some(p) = &e.parent {
                    assert!(s.entry(p).is_some(), "{} {}: parent {p}", s.id, e.code);
                }
            }
        }
    }

    /// A parent stands for any of its children, so a boolean flag holds for the parent only if it
    /// holds for every child, its land category is the children's common one (or none), and its
    /// construction value is the children's unanimous or majority value.
    #[test]
    fn parent_rows_agree_with_their_children() {
        for s in CodeTables::builtin().systems() {
            for p in s.entries() {
                let kids: Vec<&ClassEntry> = s
                    .entries()
                    .iter()
                    .filter(|e| e.parent.as_deref() == Some(p.code.as_str()))
                    .collect();
                if kids.is_empty() {
                    continue;
                }
                let ctx = format!("{} {}", s.id, p.code);
                let all = |f: fn(&ClassFlags) -> bool| kids.iter().all(|k| f(&k.flags));
                assert_eq!(
                    p.flags.urban_construction,
                    all(|f| f.urban_construction),
                    "{ctx}"
                );
                assert_eq!(p.flags.farmland, all(|f| f.farmland), "{ctx}");
                assert_eq!(p.flags.ecological, all(|f| f.ecological), "{ctx}");
                assert_eq!(p.flags.sea, all(|f| f.sea), "{ctx}");
                let first = kids[0].land_category;
                let common = kids.iter().all(|k| k.land_category == first);
                assert_eq!(p.land_category, if common { first } else { None }, "{ctx}");
                let yes = kids
                    .iter()
                    .filter(|k| k.flags.construction == Construction::Yes)
                    .count();
                let no = kids
                    .iter()
                    .filter(|k| k.flags.construction == Construction::No)
                    .count();
                let expected = if yes > no {
                    Construction::Yes
                } else {
                    Construction::No
                };
                assert_ne!(yes, no, "{ctx}: tie");
                assert_eq!(p.flags.construction, expected, "{ctx}");
            }
        }
    }

    #[test]
    fn construction_and_land_category_never_contradict() {
        for s in CodeTables::builtin().systems() {
            for e in s.entries() {
                let ctx = format!("{} {}", s.id, e.code);
                let is_jsyd = e.land_category == Some(LandCategory::Construction);
                assert_ne!(e.flags.construction, Construction::Unknown, "{ctx}");
                match e.flags.construction {
                    Construction::Yes => assert!(e.land_category.is_none() || is_jsyd, "{ctx}"),
                    Construction::No => assert!(!is_jsyd, "{ctx}"),
                    Construction::Conditional | Construction::Unknown => {
                        assert!(e.land_category.is_none(), "{ctx}")
                    }
                }
                if e.flags.urban_construction {
                    assert_eq!(e.flags.construction, Construction::Yes, "{ctx}");
                }
                if e.flags.sea {
                    assert!(e.land_category.is_none(), "{ctx}");
                }
            }
        }
    }

    #[test]
    fn brief_rules_hold_on_chosen_codes() {
        use Construction::{Conditional, No, Yes};
        use LandCategory::{Agricultural, Unused};
        let jsyd = Some(LandCategory::Construction);
        let c = |s: &str, code: &str| entry(s, code).flags.construction;
        let cat = |s: &str, code: &str| entry(s, code).land_category;
        // GB 50137-2011: every E is non-construction, every H/R/A/B/M/W/S/U/G is construction.
        assert_eq!(c("GB50137-2011", "E2"), No);
        assert_eq!(c("GB50137-2011", "E12"), No);
        assert_eq!(c("GB50137-2011", "G1"), Yes);
        assert_eq!(c("GB50137-2011", "H5"), Yes);
        assert!(entry("GB50137-2011", "H14").flags.urban_construction);
        assert!(!entry("GB50137-2011", "H21").flags.urban_construction);
        // GBJ 137-90: C2 is 商业金融业用地.
        assert_eq!(entry("GBJ137-90", "C2").name, "商业金融业用地");
        assert_eq!(c("GBJ137-90", "T1"), Yes);
        // GB/T 21010 three-way split.
        assert_eq!(cat("GBT21010-2017", "1006"), Some(Agricultural));
        assert_eq!(c("GBT21010-2017", "1006"), No);
        assert_eq!(cat("GBT21010-2017", "1103"), jsyd);
        assert_eq!(c("GBT21010-2017", "1103"), Yes);
        assert_eq!(cat("GBT21010-2017", "0404"), Some(Unused));
        assert_eq!(cat("GBT21010-2017", "1201"), jsyd);
        assert!(entry("GBT21010-2017", "0102").flags.farmland);
        assert!(!entry("GBT21010-2017", "0201").flags.farmland);
        // 用地用海 2023.
        assert_eq!(cat("YDYH-2023", "06"), Some(Agricultural));
        assert_eq!(c("YDYH-2023", "06"), No);
        assert_eq!(c("YDYH-2023", "1703"), Yes);
        assert_eq!(c("YDYH-2023", "2301"), Yes);
        assert_eq!(c("YDYH-2023", "16"), Yes);
        assert_eq!(c("YDYH-2023", "1704"), No);
        for sea in ["18", "1801", "1906", "2203", "24"] {
            assert!(entry("YDYH-2023", sea).flags.sea, "{sea}");
            assert_eq!(cat("YDYH-2023", sea), None, "{sea}");
        }
        assert!(!entry("YDYH-2023", "17").flags.sea);
        assert!(!entry("YDYH-2023", "1202").flags.urban_construction);
        assert!(entry("YDYH-2023", "0701").flags.urban_construction);
        // 土规.
        assert_eq!(c("TDGH-GZQ", "010"), Yes);
        assert_eq!(c("TDGH-GZQ", "020"), Conditional);
        assert_eq!(c("TDGH-GZQ", "040"), No);
        assert_eq!(c("TDGH-GHYT", "226"), Yes);
        assert_eq!(c("TDGH-GHYT", "15"), No);
        assert!(entry("TDGH-YTQ", "010").flags.farmland);
        assert_eq!(c("TDGH-YTQ", "050"), Yes);
        assert_eq!(c("TDGH-YTQ", "060"), No);
    }

    #[test]
    fn gzq_sub_codes_normalise_only_where_the_system_says_so() {
        assert_eq!(
            one("TDGH-GZQ", "021"),
            (Some("020".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("TDGH-GZQ", "012"),
            (Some("010".into()), Resolution::Normalised)
        );
        assert_eq!(
            sys("TDGH-GZQ").classify("021").flags.construction,
            Construction::Conditional
        );
        // A lost leading zero and a sub-code together: 11 was 011.
        assert_eq!(
            one("TDGH-GZQ", "11"),
            (Some("010".into()), Resolution::Normalised)
        );
        // 土地用途区 does not have the rule, and neither 02 nor 0 is one of its codes.
        assert_eq!(one("TDGH-YTQ", "021"), (None, Resolution::Unknown));
    }

    #[test]
    fn composite_codes_combine_flags() {
        let c = sys("GB50137-2011").classify("R2/B1");
        assert_eq!(c.status, ResolveStatus::Known);
        assert_eq!(
            c.parts
                .iter()
                .map(|p| p.code.as_deref())
                .collect::<Vec<_>>(),
            [Some("R2"), Some("B1")]
        );
        assert!(c.parts.iter().all(|p| p.how == Resolution::Exact));
        assert_eq!(c.name, "二类居住用地/商业用地");
        assert_eq!(c.flags.construction, Construction::Yes);
        assert!(c.flags.urban_construction);

        let mixed = sys("GB50137-2011").classify("E2、G1");
        assert_eq!(mixed.flags.construction, Construction::Yes);
        let water = sys("GB50137-2011").classify("E11，E13");
        assert_eq!(water.flags.construction, Construction::No);
        assert!(water.flags.ecological);

        let gzq = sys("TDGH-GZQ");
        assert_eq!(
            gzq.classify("020+030").flags.construction,
            Construction::Conditional
        );
        assert_eq!(gzq.classify("030,040").flags.construction, Construction::No);

        let partly = sys("GB50137-2011").classify("R2/Z9");
        assert_eq!(partly.status, ResolveStatus::PartlyUnknown);
        assert_eq!(partly.flags.construction, Construction::Yes);
        assert_eq!(partly.name, "二类居住用地");
        // "No" plus an unknown part is not "no": the unknown part may be construction land.
        let open = sys("GB50137-2011").classify("E2/Z9");
        assert_eq!(open.flags.construction, Construction::Unknown);
    }

    #[test]
    fn sandiao_letter_codes_match_exactly() {
        assert_eq!(
            one("GBT21010-2017", "05H1"),
            (Some("05H1".into()), Resolution::Exact)
        );
        assert_eq!(
            one("GBT21010-2017", "0810A"),
            (Some("0810A".into()), Resolution::Exact)
        );
        assert_eq!(sys("GBT21010-2017").classify("0810A").name, "广场用地");
        assert_eq!(
            one("GBT21010-2017", "08h2"),
            (Some("08H2".into()), Resolution::Normalised)
        );
        assert_eq!(
            sys("GBT21010-2017").classify("05H1").flags.construction,
            Construction::Yes
        );
    }

    #[test]
    fn local_suffixes_fall_back_to_the_longest_known_prefix() {
        assert_eq!(
            one("GB50137-2011", "R2a"),
            (Some("R2".into()), Resolution::Prefix)
        );
        assert_eq!(
            one("GB50137-2011", "Rax"),
            (Some("R".into()), Resolution::Prefix)
        );
        assert_eq!(
            one("GB50137-2011", "M1A"),
            (Some("M1".into()), Resolution::Prefix)
        );
        assert_eq!(
            one("GB50137-2011", "R22b"),
            (Some("R22".into()), Resolution::Prefix)
        );
        assert_eq!(
            one("YDYH-2023", "080101x"),
            (Some("0801".into()), Resolution::Prefix)
        );
        assert_eq!(
            one("GBT21010-2017", "0101A"),
            (Some("0101".into()), Resolution::Prefix)
        );
        assert_eq!(
            one("GB50137-2011", "R2-1"),
            (Some("R2".into()), Resolution::Prefix)
        );
        let c = sys("GB50137-2011").classify("R2a");
        assert_eq!(c.status, ResolveStatus::Known);
        assert_eq!(c.name, "二类居住用地");
    }

    #[test]
    fn unknown_and_empty_values() {
        let z = sys("GB50137-2011").classify("Z9");
        assert_eq!(z.status, ResolveStatus::Unknown);
        assert_eq!(z.flags, ClassFlags::default());
        assert_eq!(z.flags.construction, Construction::Unknown);
        assert_eq!(z.name, "");
        // A long tail is a different word, not a local suffix of H.
        assert_eq!(one("GB50137-2011", "HOUSES"), (None, Resolution::Unknown));
        for blank in ["", "   ", "　", " / "] {
            let c = sys("GB50137-2011").classify(blank);
            assert_eq!(c.status, ResolveStatus::Empty, "{blank:?}");
            assert!(c.parts.is_empty());
        }
    }

    #[test]
    fn systems_are_never_crossed() {
        // C2 is GBJ 137-90 商业金融; the 2011 edition has no C at all.
        assert_eq!(one("GB50137-2011", "C2"), (None, Resolution::Unknown));
        assert_eq!(one("GBJ137-90", "A1"), (None, Resolution::Unknown));
        assert_eq!(
            one("GBJ137-90", "C2"),
            (Some("C2".into()), Resolution::Exact)
        );
    }

    #[test]
    fn full_width_case_space_and_names_normalise() {
        assert_eq!(
            one("GB50137-2011", "Ｒ２"),
            (Some("R2".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("GB50137-2011", "r2"),
            (Some("R2".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("GB50137-2011", " R 2 "),
            (Some("R2".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("GB50137-2011", " R2 "),
            (Some("R2".into()), Resolution::Exact)
        );
        assert_eq!(
            one("TDGH-GZQ", "０２１"),
            (Some("020".into()), Resolution::Normalised)
        );
        let fw = sys("GB50137-2011").classify("Ｒ２／Ｂ１");
        assert_eq!(fw.parts.len(), 2);
        assert_eq!(fw.status, ResolveStatus::Known);
        assert_eq!(
            one("GB50137-2011", "R2 二类居住用地"),
            (Some("R2".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("GB50137-2011", "R2（二类居住）"),
            (Some("R2".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("GB50137-2011", "Rax 幼托用地"),
            (Some("R".into()), Resolution::Prefix)
        );
        assert_eq!(
            one("GB50137-2011", "二类居住用地"),
            (Some("R2".into()), Resolution::Normalised)
        );
        // 住宅用地 is R11, R21 and R31: a name that is not unique resolves to nothing.
        assert_eq!(one("GB50137-2011", "住宅用地"), (None, Resolution::Unknown));
        // A 0101 stored in a number field.
        assert_eq!(
            one("GBT21010-2017", "101"),
            (Some("0101".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("YDYH-2023", "60101"),
            (Some("060101".into()), Resolution::Normalised)
        );
        // 土规 status prefix: N = newly planned.
        assert_eq!(
            one("TDGH-GHYT", "N211"),
            (Some("211".into()), Resolution::Normalised)
        );
        assert_eq!(
            one("TDGH-GHYT", "N112"),
            (Some("11".into()), Resolution::Prefix)
        );
    }

    #[test]
    fn systems_are_found_by_id_and_alias() {
        let t = CodeTables::builtin();
        for (asked, id) in [
            ("GB50137-2011", "GB50137-2011"),
            ("gb50137", "GB50137-2011"),
            ("GB 50137", "GB50137-2011"),
            ("gbj137-90", "GBJ137-90"),
            ("GB/T 21010-2017", "GBT21010-2017"),
            ("gbt21010_2017", "GBT21010-2017"),
            ("三调", "GBT21010-2017"),
            ("YDYH", "YDYH-2023"),
            ("用地用海", "YDYH-2023"),
            ("GZQ", "TDGH-GZQ"),
            ("jsydgzq", "TDGH-GZQ"),
            ("TDYTQ", "TDGH-YTQ"),
            ("ghyt", "TDGH-GHYT"),
        ] {
            assert_eq!(
                t.system(asked).map(|s| s.id.as_str()).ok(),
                Some(id),
                "{asked}"
            );
        }
        let err = t.system("XYZ").expect_err("unknown system");
        let msg = err.to_string();
        assert!(
            msg.contains("`XYZ`") && msg.contains("GB50137-2011, GBJ137-90"),
            "{msg}"
        );
    }

    #[test]
    fn urban_edition_detection() {
        assert_eq!(detect_urban_edition(["R2", "C21", "T1"]), Some("GBJ137-90"));
        assert_eq!(
            detect_urban_edition(["R2", "A1", "B11"]),
            Some("GB50137-2011")
        );
        assert_eq!(detect_urban_edition(["R2/C2"]), Some("GBJ137-90"));
        assert_eq!(detect_urban_edition(["H11", "Ｅ２"]), Some("GB50137-2011"));
        assert_eq!(detect_urban_edition(["R2", "M1", "G1"]), None);
        assert_eq!(detect_urban_edition(["C2", "B1"]), None);
        assert_eq!(detect_urban_edition(["Bus", "CBD", "D"]), Some("GBJ137-90"));
        assert_eq!(detect_urban_edition(Vec::<&str>::new()), None);
    }

    const HEADER: &str = "code,name,parent,construction,urban_construction,farmland,ecological,sea,land_category,confidence,note\n";

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::write(dir.join(file), text).expect("write fixture");
    }

    #[test]
    fn user_tables_load_from_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "systems.csv",
            "id,name,aliases,zero_pad,subcode_x0,status_prefixes\nLOCAL-KG,本地控规,KG;控规,0,0,\n",
        );
        let table = format!(
            "\u{feff}{HEADER}R,居住用地,,yes,1,0,0,0,建设用地,confirmed,\nRB,商住混合用地,R,yes,1,0,0,0,建设用地,unconfirmed,local\nE,非建设用地,,no,0,0,0,0,,confirmed,\n"
        );
        write(dir.path(), "local_kg.csv", &table);
        let tables = CodeTables::from_dir(dir.path()).expect("tables");
        let kg = tables.system("控规").expect("alias");
        assert_eq!(kg.id, "LOCAL-KG");
        assert_eq!(kg.name, "本地控规");
        assert_eq!(kg.entry("RB").map(|e| e.confirmed), Some(false));
        let c = kg.classify("RB/E");
        assert_eq!(c.name, "商住混合用地/非建设用地");
        assert_eq!(c.flags.construction, Construction::Yes);
        assert_eq!(one_in(kg, "RBx"), (Some("RB".into()), Resolution::Prefix));
    }

    fn one_in(s: &CodeSystem, raw: &str) -> (Option<String>, Resolution) {
        let c = s.classify(raw);
        (c.parts[0].code.clone(), c.parts[0].how)
    }

    #[test]
    fn without_a_registry_file_names_give_the_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "my_zones.csv",
            &format!("{HEADER}A,甲区,,,0,0,0,0,,unconfirmed,\n"),
        );
        let tables = CodeTables::from_dir(dir.path()).expect("tables");
        let s = tables.system("my-zones").expect("derived id");
        assert_eq!(s.id, "MY-ZONES");
        assert_eq!(s.classify("A").flags.construction, Construction::Unknown);
        assert_eq!(s.classify("A").status, ResolveStatus::Known);
    }

    fn load_error(table_rows: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "t.csv", &format!("{HEADER}{table_rows}"));
        CodeTables::from_dir(dir.path())
            .expect_err("bad table")
            .to_string()
    }

    #[test]
    fn bad_rows_name_file_line_and_column() {
        let ok = "R,居住用地,,yes,1,0,0,0,建设用地,confirmed,\n";
        assert_eq!(
            load_error(&format!(
                "{ok}R2,二类,R,maybe,1,0,0,0,建设用地,confirmed,\n"
            )),
            "t.csv:3: column `construction`: `maybe` is not yes, no, conditional or empty"
        );
        assert_eq!(
            load_error(&format!("{ok}R2,二类,Q,yes,1,0,0,0,建设用地,confirmed,\n")),
            "t.csv:3: column `parent`: parent `Q` is not a code of this table"
        );
        assert_eq!(
            load_error(&format!("{ok}r,居住,,yes,1,0,0,0,建设用地,confirmed,\n")),
            "t.csv:3: column `code`: duplicate code `r` (first on line 2; codes are compared ignoring case)"
        );
        assert_eq!(
            load_error(&format!(
                "{ok}R2,二类,R,yes,yes,0,0,0,建设用地,confirmed,\n"
            )),
            "t.csv:3: column `urban_construction`: `yes` is not 1 or 0"
        );
        assert_eq!(
            load_error("R,居住用地,,yes,1,0,0,0,建设,confirmed,\n"),
            "t.csv:2: column `land_category`: `建设` is not 农用地, 建设用地, 未利用地 or empty"
        );
        assert_eq!(
            load_error("R/B,混合,,yes,1,0,0,0,建设用地,confirmed,\n"),
            "t.csv:2: column `code`: `R/B` contains a space or a composite-code separator"
        );
        assert!(load_error("R,居住用地,,yes\n").starts_with("t.csv: line 2:"));
    }

    #[test]
    fn missing_columns_and_bad_encoding_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "t.csv", "code,name\nR,居住用地\n");
        let msg = CodeTables::from_dir(dir.path())
            .expect_err("short header")
            .to_string();
        assert_eq!(msg, "t.csv: missing column `parent`");

        let dir = tempfile::tempdir().expect("tempdir");
        let mut gbk = HEADER.as_bytes().to_vec();
        // 居住 in GBK.
        gbk.extend_from_slice(b"R,\xbe\xd3\xd7\xa1,,yes,1,0,0,0,,confirmed,\n");
        std::fs::write(dir.path().join("t.csv"), gbk).expect("write");
        let msg = CodeTables::from_dir(dir.path())
            .expect_err("gbk")
            .to_string();
        assert!(
            msg.ends_with("t.csv: not UTF-8 (save the table as UTF-8 CSV)"),
            "{msg}"
        );
    }

    #[test]
    fn clashing_system_names_are_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "systems.csv",
            "id,name,aliases,zero_pad,subcode_x0,status_prefixes\nA-1,甲,X,0,0,\nB-1,乙,x,0,0,\n",
        );
        let row = format!("{HEADER}R,居住用地,,yes,1,0,0,0,建设用地,confirmed,\n");
        write(dir.path(), "a_1.csv", &row);
        write(dir.path(), "b_1.csv", &row);
        let msg = CodeTables::from_dir(dir.path())
            .expect_err("clash")
            .to_string();
        assert_eq!(
            msg,
            "b_1.csv: system name `x` is already used by another system"
        );
    }
}
