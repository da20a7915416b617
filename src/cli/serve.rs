//! `lantu serve` and `lantu keys`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use lantu::blueprint::{self, Blueprint};
use lantu::server::{self, AppState, Role, ServerConfig, auth};
use lantu::store::Store;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The store directory (default $LANTU_STORE or ./store).
    #[arg(long)]
    pub store: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Manifest imported on first start, when the store has no blueprint.
    #[arg(long, default_value = "data/sample/blueprint.toml")]
    pub manifest: PathBuf,
    /// Role of requests without an API key: viewer (default) or none.
    #[arg(long, default_value = "viewer")]
    pub anonymous: String,
    /// The built web page.
    #[arg(long, default_value = "web/dist")]
    pub web: PathBuf,
    /// Analyses that may run at once (default 4 per core).
    #[arg(long)]
    pub cpu_slots: Option<usize>,
}

pub fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let dir = super::store_dir(a.store.clone());
    let store = Store::open(&dir).with_context(|| format!("opening store {}", dir.display()))?;
    if store.default_blueprint()?.is_none() {
        if !a.manifest.exists() {
            bail!(
                "the store {} is empty and the manifest {} does not exist: import a blueprint first",
                dir.display(),
                a.manifest.display()
            );
        }
        eprintln!("empty store: importing {}", a.manifest.display());
        let progress = |line: &str| eprintln!("  imported {line}");
        blueprint::import_manifest(&store, &a.manifest, "serve:first-start", &progress)?;
    }
    let bp = Blueprint::load_current(&store)?;
    eprintln!(
        "loaded {} ({} layers) in {:.2} s",
        bp.label(),
        bp.layers.len(),
        bp.load_seconds
    );
    // Prepare the polygon layers for the site check now rather than in the first request.
    let warm = bp.clone();
    std::thread::spawn(move || {
        for layer in &warm.layers {
            layer.prepared(&warm.grid);
        }
    });
    auth::ensure_schema(&store)?;
    if auth::list_keys(&store)?.is_empty() {
        let key = auth::create_key(
            &store,
            "first-start admin",
            Role::Admin,
            "serve:first-start",
        )?;
        eprintln!("no API keys yet: created an admin key (shown once): {key}");
        eprintln!(
            "create more with: lantu keys create --name NAME --role viewer|planner|land_sale|admin"
        );
    }
    let mut config = ServerConfig {
        anonymous: match a.anonymous.as_str() {
            "none" => None,
            other => Some(other.parse::<Role>().map_err(anyhow::Error::msg)?),
        },
        web_dir: Some(a.web.clone()),
        ..ServerConfig::default()
    };
    if let Some(n) = a.cpu_slots {
        config.cpu_slots = n.max(1);
    }
    if !a.web.join("index.html").exists() {
        eprintln!(
            "note: no web page at {} (build it with `make web`); the API is served",
            a.web.display()
        );
    }
    let state =
        AppState::new(Arc::new(store), bp, config).map_err(|e| anyhow::anyhow!(e.detail))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    println!(
        "lantu serving on http://{}/  (API docs: http://{}/openapi.json)",
        a.addr, a.addr
    );
    runtime.block_on(server::serve(state, a.addr))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// The store directory (default $LANTU_STORE or ./store).
    #[arg(long, global = true)]
    pub store: Option<PathBuf>,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; it is printed once and stored hashed.
    Create {
        #[arg(long)]
        name: String,
        /// viewer, planner, land_sale or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        actor: Option<String>,
    },
    /// List keys (names and roles, never the keys).
    List,
    /// Revoke a key by id.
    Revoke {
        id: i64,
        #[arg(long)]
        actor: Option<String>,
    },
}

pub fn keys(a: KeysArgs) -> anyhow::Result<ExitCode> {
    let dir = super::store_dir(a.store.clone());
    let store = Store::open(&dir).with_context(|| format!("opening store {}", dir.display()))?;
    match a.command {
        KeysCommand::Create { name, role, actor } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let key = auth::create_key(&store, &name, role, &super::actor(actor.as_deref()))?;
            println!("{key}");
        }
        KeysCommand::List => {
            for k in auth::list_keys(&store)? {
                println!(
                    "{:>4} {:<10} {:<24} created {}{}",
                    k.id,
                    k.role,
                    k.name,
                    k.created_at,
                    k.revoked_at
                        .map(|r| format!(", revoked {r}"))
                        .unwrap_or_default()
                );
            }
        }
        KeysCommand::Revoke { id, actor } => {
            if !auth::revoke_key(&store, id, &super::actor(actor.as_deref()))? {
                bail!("no active key with id {id}");
            }
            println!("key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
