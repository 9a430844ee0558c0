//! `scratchify resolve`: print the runtime closure of packages.
//!
//! One line per member on stdout, sorted by name:
//! `name version installed-size-bytes why`, where `why` is the member that
//! pulled it in or, for a requested package, the request's origin
//! (`command-line`). Pruned packages go to stderr as
//! `pruned NAME (wanted by X)`, followed by notes.

use std::path::PathBuf;
use std::process::ExitCode;

use miette::IntoDiagnostic;

use super::CommandResult;
use crate::store::debian::{DebianConfig, DebianStore, host_release};
use crate::store::{PackageRequest, ResolveOptions, Store, StoreKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package universe.
    #[arg(long, value_enum, default_value_t = StoreKind::Debian)]
    pub store: StoreKind,
    /// Distribution release (bookworm, trixie, jammy, noble, ...); default:
    /// the host's.
    #[arg(long)]
    pub release: Option<String>,
    /// Repository base URI (http, https or file:); default:
    /// SCRATCHIFY_DEBIAN_MIRROR, else the host's apt sources.
    #[arg(long)]
    pub mirror: Option<String>,
    /// Repository base URI of the security suite.
    #[arg(long)]
    pub security_mirror: Option<String>,
    /// OpenPGP keyring to verify Release files with (default: the apt
    /// sources' Signed-By).
    #[arg(long)]
    pub keyring: Option<PathBuf>,
    /// dpkg architecture.
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// Keep packages that only serve maintainer scripts.
    #[arg(long)]
    pub no_prune: bool,
    /// Follow Recommends (apt's default; Dockerfiles usually turn it off).
    #[arg(long)]
    pub install_recommends: bool,
    /// Fetch Release files even if the cached ones are fresh.
    #[arg(long, conflicts_with = "offline")]
    pub refresh: bool,
    /// Never touch the network; use cached indices.
    #[arg(long)]
    pub offline: bool,
    /// Print the closure as JSON instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Packages: `name[:arch][=version]`.
    #[arg(required = true)]
    pub packages: Vec<String>,
}

pub fn run(args: Args) -> CommandResult {
    let StoreKind::Debian = args.store;
    let release = match args.release.clone() {
        Some(r) => r,
        None => host_release(std::path::Path::new("/")).ok_or_else(|| {
            miette::miette!("no --release given and the host's /etc/os-release names none")
        })?,
    };
    let mut config = DebianConfig::new(release)?;
    if args.mirror.is_some() {
        config.mirror = args.mirror.clone();
    }
    if args.security_mirror.is_some() {
        config.security_mirror = args.security_mirror.clone();
    }
    if args.keyring.is_some() {
        config.keyring = args.keyring.clone();
    }
    config.arch = args.arch.clone();
    config.refresh = args.refresh;
    config.offline = args.offline;
    let store = DebianStore::new(config)?;
    let requests = args
        .packages
        .iter()
        .map(|p| {
            PackageRequest::from_apt_argument(p, "command-line").map(|mut r| {
                r.install_recommends = args.install_recommends;
                r
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let closure = store.resolve(
        &requests,
        &ResolveOptions {
            prune: !args.no_prune,
        },
    )?;
    if args.json {
        let text = serde_json::to_string_pretty(&closure).into_diagnostic()?;
        println!("{text}");
    } else {
        let mut out = String::new();
        for p in &closure.paths {
            out.push_str(&format!(
                "{} {} {} {}\n",
                p.name,
                p.version,
                p.installed_size,
                p.why.label()
            ));
        }
        print!("{out}");
    }
    for p in &closure.pruned {
        eprintln!("pruned {} (wanted by {})", p.name, p.wanted_by);
    }
    for n in &closure.notes {
        eprintln!("note: {n}");
    }
    Ok(ExitCode::SUCCESS)
}
