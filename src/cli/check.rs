//! `lantu check`: the site check and the 土地资源和技术控制指标清单 of one site, or of every site
//! of a file in parallel (one checklist per site plus `overlaps.csv`), and `lantu verify
//! --checklist` for a checklist document handed back later.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use lantu::blueprint::Blueprint;
use lantu::checklist::build::{BuildOptions, build};
use lantu::checklist::map::map_data;
use lantu::checklist::{Checklist, Template, registry, verify_json};
use lantu::site::input::{SiteOptions, read_file};
use lantu::site::{Site, SiteAnalysis, SiteParams, analyse};
use lantu::store::{Store, now_rfc3339};
use rayon::prelude::*;

use super::inspect::StoreArg;

const FORMATS: [&str; 5] = ["json", "html", "pdf", "xlsx", "txt"];

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Import this manifest first, then check against the blueprint it describes.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// The site: GeoJSON, zipped Shapefile, Shapefile, GeoPackage, DXF, KML or 界址点 TXT.
    #[arg(long)]
    pub site: PathBuf,
    /// CRS of the site file when it does not carry one (e.g. EPSG:4546, GCJ02).
    #[arg(long)]
    pub crs: Option<String>,
    /// Field holding each site's id in a layer of many sites.
    #[arg(long)]
    pub site_id_field: Option<String>,
    /// Field holding each site's name.
    #[arg(long)]
    pub site_name_field: Option<String>,
    /// 投资项目统一代码 (YYYY-NNNNNN-NN-NN-NNNNNN), checked against the division codes.
    #[arg(long)]
    pub project_code: Option<String>,
    /// Output formats, comma-separated: json, html, pdf, xlsx, txt (the 界址点 coordinates).
    #[arg(long, value_delimiter = ',', default_value = "json")]
    pub format: Vec<String>,
    /// Output file for one site and one format; otherwise a directory (created) that receives
    /// `<site id>.<format>` per site and `overlaps.csv`.
    #[arg(long)]
    pub out: PathBuf,
    /// Checklist template (TOML); default: the manifest's, else the built-in one.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Date the validity of regional assessments is judged on (default: today).
    #[arg(long)]
    pub date: Option<chrono::NaiveDate>,
    /// Time of issue written into the checklist (RFC 3339; default: now). Part of the hash:
    /// fixing it reproduces a checklist byte for byte.
    #[arg(long)]
    pub issued_at: Option<String>,
    /// Most vertices a site may have.
    #[arg(long, default_value_t = lantu::site::input::MAX_SITE_VERTICES)]
    pub max_vertices: usize,
    /// Do not record the issued checklists in the store.
    #[arg(long)]
    pub no_record: bool,
    #[arg(long)]
    pub actor: Option<String>,
}

/// One site's result: its analysis, its checklist and the rendered documents.
struct Checked {
    analysis: SiteAnalysis,
    checklist: Checklist,
    map: lantu::checklist::map::MapData,
    documents: Vec<(String, Vec<u8>)>,
    render_micros: Vec<(String, u64)>,
}

fn check_one(
    bp: &Blueprint,
    site: &Site,
    template: &Template,
    params: &SiteParams,
    options: &BuildOptions,
    formats: &[String],
) -> anyhow::Result<Checked> {
    let analysis = analyse(bp, site, params);
    let checklist = build(bp, site, &analysis, template, options)
        .with_context(|| format!("site {}", site.id))?;
    let map = map_data(bp, site, &analysis);
    let mut documents = Vec::new();
    let mut render_micros = Vec::new();
    for f in formats {
        let t = Instant::now();
        let r = lantu::report::render(f, &checklist, &map)
            .with_context(|| format!("site {}: rendering {f}", site.id))?;
        render_micros.push((f.clone(), t.elapsed().as_micros() as u64));
        documents.push((r.extension.to_string(), r.bytes));
    }
    Ok(Checked {
        analysis,
        checklist,
        map,
        documents,
        render_micros,
    })
}

fn template_for(a: &CheckArgs, bp: &Blueprint) -> anyhow::Result<Template> {
    Ok(match &a.template {
        Some(p) => Template::load(p)?,
        None => Template::for_blueprint(&bp.meta)?,
    })
}

/// A file name from a site id: ids come from user files and may hold path separators.
fn file_stem(id: &str, index: usize) -> String {
    let clean: String = id
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let clean = clean.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if clean.is_empty() {
        format!("site-{}", index + 1)
    } else {
        clean.to_string()
    }
}

fn write_overlaps_csv(path: &Path, results: &[Checked]) -> anyhow::Result<usize> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    w.write_record([
        "site_id",
        "layer",
        "feature_id",
        "class",
        "area_m2",
        "ellipsoidal_area_m2",
        "share_of_site",
    ])?;
    let mut rows = 0;
    for r in results {
        for l in &r.analysis.overlaps {
            for f in l.features.iter().filter(|f| f.area_m2 > 0.0) {
                w.write_record([
                    r.analysis.site_id.as_str(),
                    l.layer.as_str(),
                    f.feature_id.as_str(),
                    &f.class_code,
                    &format!("{:.3}", f.area_m2),
                    &format!("{:.3}", f.ellipsoidal_area_m2),
                    &format!("{:.6}", f.share_of_site),
                ])?;
                rows += 1;
            }
        }
    }
    w.flush()?;
    Ok(rows)
}

pub fn check(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let formats: Vec<String> = a
        .format
        .iter()
        .map(|f| f.trim().to_ascii_lowercase())
        .filter(|f| !f.is_empty())
        .collect();
    if let Some(bad) = formats.iter().find(|f| !FORMATS.contains(&f.as_str())) {
        bail!("unknown format `{bad}` (json, html, pdf, xlsx, txt)");
    }
    if formats.is_empty() {
        bail!("no output format given (json, html, pdf, xlsx, txt)");
    }
    if let Some(code) = &a.project_code {
        lantu::checklist::project_code::validate(code)?;
    }
    let actor = super::actor(a.actor.as_deref());
    let store = a.store.open_or_import(a.manifest.as_deref(), &actor)?;
    let meta = a.store.blueprint(&store)?;
    let t = Instant::now();
    let bp = Blueprint::load(&store, meta)?;
    let load_s = t.elapsed().as_secs_f64();
    let template = template_for(&a, &bp)?;
    let options = SiteOptions {
        crs: a.crs.clone(),
        id_field: a.site_id_field.clone(),
        name_field: a.site_name_field.clone(),
        max_vertices: Some(a.max_vertices),
    };
    let sites = read_file(&a.site, &bp, &options)
        .with_context(|| format!("reading sites from {}", a.site.display()))?;
    let params = SiteParams::new(a.date.unwrap_or_else(|| chrono::Local::now().date_naive()));
    let build_options = BuildOptions {
        project_code: a.project_code.clone(),
        issued_at: a.issued_at.clone().unwrap_or_else(now_rfc3339),
    };
    let single_file = sites.len() == 1 && formats.len() == 1 && !a.out.is_dir();
    if !single_file {
        std::fs::create_dir_all(&a.out)
            .with_context(|| format!("creating output directory {}", a.out.display()))?;
    }

    let t = Instant::now();
    let results: Vec<Checked> = sites
        .par_iter()
        .map(|s| check_one(&bp, s, &template, &params, &build_options, &formats))
        .collect::<anyhow::Result<_>>()?;
    let batch_s = t.elapsed().as_secs_f64();

    if !a.no_record {
        registry::ensure_schema(&store)?;
        for r in &results {
            registry::record(&store, &r.checklist, &r.map, &actor)?;
        }
    }
    if single_file {
        let r = &results[0];
        std::fs::write(&a.out, &r.documents[0].1)
            .with_context(|| format!("writing {}", a.out.display()))?;
        report_site(r);
        println!("wrote {}", a.out.display());
    } else {
        let mut used = std::collections::HashSet::new();
        for (i, r) in results.iter().enumerate() {
            let mut stem = file_stem(&r.checklist.site.id, i);
            if !used.insert(stem.clone()) {
                stem = format!("{stem}-{}", i + 1);
                used.insert(stem.clone());
            }
            for (ext, bytes) in &r.documents {
                let p = a.out.join(format!("{stem}.{ext}"));
                std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
            }
            if results.len() <= 20 {
                report_site(r);
            }
        }
        let rows = write_overlaps_csv(&a.out.join("overlaps.csv"), &results)?;
        println!(
            "{} sites, {} overlap rows → {}",
            results.len(),
            rows,
            a.out.display()
        );
    }
    let analysis_us: u64 = results.iter().map(|r| r.analysis.micros).sum();
    println!(
        "blueprint {} loaded in {:.3} s; analysis {:.3} ms in total ({:.3} ms per site); \
         checklists and documents in {:.3} s wall on {} threads",
        bp.label(),
        load_s,
        analysis_us as f64 / 1e3,
        analysis_us as f64 / 1e3 / results.len().max(1) as f64,
        batch_s,
        rayon::current_num_threads()
    );
    for f in &formats {
        let us: Vec<u64> = results
            .iter()
            .flat_map(|r| r.render_micros.iter().filter(|(g, _)| g == f).map(|x| x.1))
            .collect();
        let total: u64 = us.iter().sum();
        println!(
            "  render {f}: {:.1} ms per site",
            total as f64 / 1e3 / us.len().max(1) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn report_site(r: &Checked) {
    let c = &r.checklist;
    println!(
        "site {} ({:.2} m²) sha256 {}",
        c.site.id, c.site.ellipsoidal_area_m2, c.sha256
    );
    for v in &c.verdicts {
        println!("  {}: {} — {}", v.line, v.status.label(), v.text);
    }
    println!("  区域评估 sfwcqypg = {}", c.spgl.sfwcqypg);
}

#[derive(Debug, Args)]
pub struct VerifyChecklistArgs {
    /// A checklist JSON as issued (`--format json`); its SHA-256 is recomputed.
    #[arg(long)]
    pub checklist: Option<PathBuf>,
    /// The hash printed on a checklist annex: looked up among the store's issued checklists
    /// and its stored content re-hashed.
    #[arg(long)]
    pub sha256: Option<String>,
}

/// Verifies a checklist document and/or a printed hash. Exit code 1 when anything fails.
pub fn verify_checklist(a: &VerifyChecklistArgs, store: Option<&Store>) -> anyhow::Result<bool> {
    let mut ok = true;
    let mut claimed = None;
    if let Some(path) = &a.checklist {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let v = verify_json(&text).with_context(|| format!("checking {}", path.display()))?;
        if v.ok {
            println!("ok       {} sha256 {}", path.display(), v.computed);
        } else {
            println!(
                "MODIFIED {}: claims sha256 {} but its content hashes to {}",
                path.display(),
                v.claimed,
                v.computed
            );
            ok = false;
        }
        claimed = Some(v.claimed);
    }
    if let Some(sha) = &a.sha256 {
        let sha = sha.trim().to_ascii_lowercase();
        if let Some(c) = &claimed
            && *c != sha
        {
            println!("MISMATCH the document claims {c}, the annex prints {sha}");
            ok = false;
        }
        let Some(store) = store else {
            bail!("--sha256 looks the checklist up in a store: give --store");
        };
        registry::ensure_schema(store)?;
        match registry::load(store, &sha)? {
            Some((c, _)) => {
                let text = c.to_json()?;
                let v = verify_json(&text)?;
                if v.ok && v.computed == sha {
                    println!(
                        "ok       {sha} issued {} for site {} on blueprint {}@{}",
                        c.issued_at, c.site.id, c.blueprint.name, c.blueprint.version
                    );
                } else {
                    println!(
                        "CORRUPT  the stored checklist {sha} hashes to {}",
                        v.computed
                    );
                    ok = false;
                }
            }
            None => {
                println!("UNKNOWN  no checklist {sha} was issued from this store");
                ok = false;
            }
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn site_ids_become_safe_file_names() {
        assert_eq!(file_stem("S1", 0), "S1");
        assert_eq!(file_stem("../../etc/passwd", 0), "_.._etc_passwd");
        assert_eq!(file_stem("  ..  ", 4), "site-5");
        assert_eq!(file_stem("地块/01", 0), "地块_01");
    }
}
