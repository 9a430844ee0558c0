//! RUN instructions: the effects of each analysed command on the plan.

use std::collections::BTreeSet;

use crate::dockerfile::scope::StageScope;
use crate::dockerfile::{CommandLine, InstructionSource, RunInstruction};
use crate::shell::{self, Effect, Manager};
use crate::source::Span;

use super::super::ir::*;
use super::{Installed, Interpreter, excerpt, manager_ecosystem, op_str, split_requirement};

/// Where a command's effect sits: its span, its stage and the excerpt of
/// the RUN instruction it belongs to (what provenance and diagnostics
/// name).
#[derive(Clone, Copy)]
struct EffectSite<'t> {
    span: Span,
    stage: usize,
    instruction: &'t str,
}

impl Interpreter<'_> {
    pub(super) fn interpret_run(
        &mut self,
        stage: usize,
        r: &RunInstruction,
        scope: &StageScope,
        workdir: &str,
    ) {
        let run_index = self.instruction_counter;
        let excerpt_text = excerpt(self.source.slice(r.source.span));
        let (analysis, map) = self.analyze_run(r, scope);
        let inline_keeps = self.inline_keeps(&r.source);

        // SHELL decides what runs the script; sh-compatible shells only.
        if let (Some(sh), CommandLine::Shell { .. }) = (&self.config.shell, &r.command) {
            let prog = sh.value.first().map(String::as_str).unwrap_or("");
            let base = prog.rsplit(['/', '\\']).next().unwrap_or(prog);
            if !matches!(
                base,
                "sh" | "bash" | "dash" | "ash" | "ksh" | "zsh" | "busybox"
            ) {
                self.unsupported(
                    r.source.span,
                    stage,
                    &excerpt_text,
                    format!("the SHELL `{prog}` is not a POSIX shell"),
                    &excerpt_text,
                );
                return;
            }
        }

        for d in &analysis.diagnostics {
            if d.severity == shell::Severity::Error {
                let diag = d.to_source_diagnostic(self.source, &*map);
                self.errors.push(diag);
            }
        }

        for (cmd, effect) in analysis.effects() {
            let span = map(effect.span());
            let site = EffectSite {
                span,
                stage,
                instruction: &excerpt_text,
            };
            let prov = |this: &Self| this.prov(span, stage, &excerpt_text);
            let known = |a: &shell::Arg| a.known().map(str::to_string);
            let resolve = |p: &str| cmd.resolve_path(workdir, p);
            match effect {
                Effect::PackageIndexUpdate { .. } => {
                    let provenance = prov(self);
                    self.dropped.push(Dropped {
                        what: DroppedKind::RunStep {
                            command: excerpt(self.source.slice(span)),
                        },
                        rule: "build-step/index-update".into(),
                        reason: "refreshes the package index; the image is resolved against a \
                                 verified index instead"
                            .into(),
                        provenance,
                    });
                }
                Effect::PackageInstall {
                    manager,
                    packages,
                    options,
                    ..
                } => {
                    let eco = manager_ecosystem(*manager);
                    let command_text = excerpt(self.source.slice(span));
                    for p in packages {
                        let pspan = map(p.span);
                        match &p.source {
                            shell::PackageSource::Repository => {}
                            other => {
                                let what = format!("{} {}", manager.as_str(), p.name);
                                self.unsupported(
                                    pspan,
                                    stage,
                                    &what,
                                    format!("installing from {other:?} is not supported yet"),
                                    &excerpt_text,
                                );
                                continue;
                            }
                        }
                        let version = p.version.as_ref().map(|v| {
                            v.clauses
                                .iter()
                                .map(|c| format!("{}{}", op_str(c.op), c.version))
                                .collect::<Vec<_>>()
                                .join(",")
                        });
                        let provenance = self.prov(pspan, stage, &excerpt_text);
                        self.installed.push(Installed {
                            request: PackageRequest {
                                ecosystem: eco,
                                name: p.name.clone(),
                                version,
                                arch: p.arch.clone(),
                                install_recommends: *manager == Manager::Apt
                                    && !options.no_install_recommends,
                                origin: RequestOrigin::Install {
                                    command: command_text.clone(),
                                },
                                provenance,
                            },
                            virtual_group: options.virtual_group.clone(),
                            instruction: run_index,
                            auto: false,
                            removed: None,
                            inline_keep: inline_keeps.contains(&p.name),
                        });
                    }
                    for req in &options.requirements {
                        self.requirements_file(req, &resolve, site, &inline_keeps, run_index);
                    }
                    if options.constraints.iter().any(|_| true) {
                        self.notes.push(Note {
                            message: "pip constraints files narrow versions; the PyPI store \
                                      resolves against them when it reads them"
                                .into(),
                            provenance: prov(self),
                        });
                    }
                }
                Effect::PackageRemove {
                    manager,
                    names,
                    virtual_groups,
                    auto_remove,
                    ..
                } => {
                    let eco = manager_ecosystem(*manager);
                    let how = excerpt(self.source.slice(span));
                    let line = self.source.line_col(span.start).0;
                    for inst in self.installed.iter_mut().filter(|i| i.removed.is_none()) {
                        let by_name =
                            inst.request.ecosystem == eco && names.contains(&inst.request.name);
                        let by_group = inst
                            .virtual_group
                            .as_ref()
                            .is_some_and(|g| virtual_groups.contains(g) || names.contains(g));
                        if by_name || by_group {
                            inst.removed = Some((
                                "removed-later".into(),
                                format!("removed later by `{how}` (line {line})"),
                            ));
                        }
                    }
                    if *auto_remove {
                        self.autoremove(eco, &how, line);
                    }
                }
                Effect::PackageAutoremove { manager, .. } => {
                    let eco = manager_ecosystem(*manager);
                    let how = excerpt(self.source.slice(span));
                    let line = self.source.line_col(span.start).0;
                    self.autoremove(eco, &how, line);
                }
                Effect::PackageUpgrade { manager, .. } => {
                    let provenance = prov(self);
                    self.dropped.push(Dropped {
                        what: DroppedKind::RunStep {
                            command: format!("{} upgrade", manager.as_str()),
                        },
                        rule: "build-step/upgrade".into(),
                        reason: "upgrades packages; the image's packages come from the current \
                                 verified index already"
                            .into(),
                        provenance,
                    });
                }
                Effect::AptMark { mode, names, .. } => {
                    use shell::AptMarkMode;
                    match mode {
                        AptMarkMode::Auto => {
                            let all = names.iter().any(|n| {
                                n.known()
                                    .is_some_and(|v| v == ".*" || v == "*" || v == "~i")
                            });
                            for inst in self.installed.iter_mut() {
                                if inst.request.ecosystem == Ecosystem::Debian
                                    && (all
                                        || names
                                            .iter()
                                            .any(|n| n.known() == Some(&inst.request.name)))
                                {
                                    inst.auto = true;
                                }
                            }
                        }
                        AptMarkMode::Manual => {
                            for inst in self.installed.iter_mut() {
                                if inst.request.ecosystem != Ecosystem::Debian {
                                    continue;
                                }
                                let named =
                                    names.iter().any(|n| n.known() == Some(&inst.request.name));
                                // `apt-mark manual $savedAptMark` restores what
                                // was manual before this RUN: packages that
                                // earlier instructions installed.
                                let restored = names.iter().any(|n| n.known().is_none())
                                    && inst.instruction < run_index;
                                if named || restored {
                                    inst.auto = false;
                                }
                            }
                        }
                        AptMarkMode::Hold | AptMarkMode::Unhold => {}
                    }
                }
                Effect::CacheCleanup { .. } => {
                    let provenance = prov(self);
                    self.dropped.push(Dropped {
                        what: DroppedKind::RunStep {
                            command: excerpt(self.source.slice(span)),
                        },
                        rule: "build-step/cleanup".into(),
                        reason: "cleans package caches; a scratch image has none".into(),
                        provenance,
                    });
                }
                Effect::AddUser {
                    name,
                    uid,
                    group,
                    home,
                    shell,
                    system,
                    ..
                } => {
                    let provenance = prov(self);
                    self.accounts
                        .retain(|a| !(a.kind == AccountKind::User && a.name == *name));
                    self.accounts.push(Account {
                        kind: AccountKind::User,
                        name: name.clone(),
                        id: *uid,
                        group: group.clone(),
                        home: home.clone(),
                        shell: shell.clone(),
                        system: *system,
                        provenance,
                    });
                }
                Effect::AddGroup {
                    name, gid, system, ..
                } => {
                    let provenance = prov(self);
                    if !self
                        .accounts
                        .iter()
                        .any(|a| a.kind == AccountKind::Group && a.name == *name)
                    {
                        self.accounts.push(Account {
                            kind: AccountKind::Group,
                            name: name.clone(),
                            id: *gid,
                            group: None,
                            home: None,
                            shell: None,
                            system: *system,
                            provenance,
                        });
                    }
                }
                Effect::AddUserToGroup { user, group, .. } => {
                    let provenance = prov(self);
                    self.notes.push(Note {
                        message: format!("{user} is added to group {group} (supplementary groups are written to /etc/group)"),
                        provenance,
                    });
                }
                Effect::ModifyUser {
                    name,
                    uid,
                    group,
                    home,
                    shell,
                    ..
                } => {
                    if let Some(a) = self
                        .accounts
                        .iter_mut()
                        .find(|a| a.kind == AccountKind::User && a.name == *name)
                    {
                        if uid.is_some() {
                            a.id = *uid;
                        }
                        if group.is_some() {
                            a.group = group.clone();
                        }
                        if home.is_some() {
                            a.home = home.clone();
                        }
                        if shell.is_some() {
                            a.shell = shell.clone();
                        }
                    }
                }
                Effect::MakeDir { paths, mode, .. } => {
                    let mode = mode.as_ref().and_then(|m| u32::from_str_radix(m, 8).ok());
                    self.file_op_per_path(paths, &resolve, site, |path| {
                        Some(FileOpKind::MakeDir {
                            path,
                            mode,
                            owner: None,
                        })
                    });
                }
                Effect::Chown {
                    paths,
                    user,
                    group,
                    recursive,
                    ..
                } => {
                    let owner = match (user, group) {
                        (Some(u), Some(g)) => format!("{u}:{g}"),
                        (Some(u), None) => u.clone(),
                        (None, Some(g)) => format!(":{g}"),
                        (None, None) => String::new(),
                    };
                    self.file_op_per_path(paths, &resolve, site, |path| {
                        Some(FileOpKind::Chown {
                            path,
                            owner: owner.clone(),
                            recursive: *recursive,
                        })
                    });
                }
                Effect::Chmod {
                    paths,
                    mode,
                    recursive,
                    ..
                } => {
                    self.file_op_per_path(paths, &resolve, site, |path| {
                        Some(FileOpKind::Chmod {
                            path,
                            mode: mode.clone(),
                            recursive: *recursive,
                        })
                    });
                }
                Effect::Symlink { target, link, .. } => {
                    let kind = known(target)
                        .zip(known(link).and_then(|v| resolve(&v)))
                        .map(|(target, link)| FileOpKind::Symlink { link, target });
                    self.file_op_or_unknown(kind, site, link);
                }
                Effect::HardLink { target, link, .. } => {
                    let kind = known(target)
                        .and_then(|v| resolve(&v))
                        .zip(known(link).and_then(|v| resolve(&v)))
                        .map(|(target, link)| FileOpKind::Hardlink { link, target });
                    self.file_op_or_unknown(kind, site, link);
                }
                Effect::Touch { paths, .. } => {
                    self.file_op_per_path(paths, &resolve, site, |path| {
                        Some(FileOpKind::Touch { path })
                    });
                }
                Effect::WriteFile {
                    path,
                    content,
                    append,
                    ..
                } => match (known(path).and_then(|v| resolve(&v)), content) {
                    (Some(path), Some(content)) => {
                        if path.starts_with("/dev/") {
                            continue;
                        }
                        let provenance = prov(self);
                        self.files.push(FileOp {
                            kind: FileOpKind::WriteFile {
                                path,
                                content: content.clone(),
                                append: *append,
                            },
                            provenance,
                        });
                    }
                    (Some(path), None)
                        if path.starts_with("/dev/") || path.starts_with("/tmp/") => {}
                    _ => {
                        let what = excerpt(self.source.slice(span));
                        self.unsupported(
                            span,
                            stage,
                            &what,
                            "the content written is not known before the build runs".into(),
                            &excerpt_text,
                        );
                    }
                },
                Effect::RemovePaths {
                    paths, recursive, ..
                } => {
                    // Temporary files are gone from a scratch image anyway.
                    self.file_op_per_path(paths, &resolve, site, |path| {
                        (!(path.starts_with("/tmp/") || path == "/tmp")).then_some(
                            FileOpKind::Remove {
                                path,
                                recursive: *recursive,
                            },
                        )
                    });
                }
                Effect::CopyPath {
                    sources,
                    dest,
                    recursive,
                    ..
                } => {
                    let sources: Option<Vec<String>> = sources
                        .iter()
                        .map(|s| known(s).and_then(|v| resolve(&v)))
                        .collect();
                    let kind = sources.zip(known(dest).and_then(|v| resolve(&v))).map(
                        |(sources, dest)| FileOpKind::CopyInImage {
                            sources,
                            dest,
                            recursive: *recursive,
                        },
                    );
                    self.file_op_or_unknown(kind, site, dest);
                }
                Effect::MovePath { sources, dest, .. } => {
                    let sources: Option<Vec<String>> = sources
                        .iter()
                        .map(|s| known(s).and_then(|v| resolve(&v)))
                        .collect();
                    let kind = sources
                        .zip(known(dest).and_then(|v| resolve(&v)))
                        .map(|(sources, dest)| FileOpKind::Move { sources, dest });
                    self.file_op_or_unknown(kind, site, dest);
                }
                Effect::Download { url, dest, .. } => {
                    let what = excerpt(self.source.slice(span));
                    let u = known(url).unwrap_or_else(|| url.text.clone());
                    self.unsupported(
                        span,
                        stage,
                        &what,
                        format!(
                            "downloads {u} while building; use ADD --checksum=sha256:... {u} {} \
                             so the download is verified",
                            match dest {
                                shell::DownloadDest::File { path } => path.text.clone(),
                                _ => "<dest>".into(),
                            }
                        ),
                        &excerpt_text,
                    );
                }
                Effect::Extract { .. } => {
                    let what = excerpt(self.source.slice(span));
                    self.unsupported(
                        span,
                        stage,
                        &what,
                        "unpacks an archive the build produced; its contents are not known".into(),
                        &excerpt_text,
                    );
                }
                Effect::VerifyChecksum { .. }
                | Effect::VerifySignature { .. }
                | Effect::ChangeDir { .. }
                | Effect::NoOp { .. }
                | Effect::Abort { .. } => {}
                Effect::Opaque { reason, .. } => {
                    let what = excerpt(self.source.slice(span));
                    self.unsupported(span, stage, &what, reason.clone(), &excerpt_text);
                }
            }
        }
    }

    /// One file operation per path of a command, or a diagnostic for a path
    /// whose value is not known before the build runs. `resolve` makes a
    /// known path absolute; `make` returns `None` for paths the image does
    /// not care about.
    fn file_op_per_path(
        &mut self,
        paths: &[shell::Arg],
        resolve: &dyn Fn(&str) -> Option<String>,
        site: EffectSite<'_>,
        make: impl Fn(String) -> Option<FileOpKind>,
    ) {
        for p in paths {
            match p.known().and_then(resolve) {
                Some(path) => {
                    if let Some(kind) = make(path) {
                        self.file_op_or_unknown(Some(kind), site, p);
                    }
                }
                None => self.unknown_path(site, p),
            }
        }
    }

    /// Record a file operation whose paths are known, or say which path
    /// (`arg`) is not known before the build runs.
    fn file_op_or_unknown(
        &mut self,
        kind: Option<FileOpKind>,
        site: EffectSite<'_>,
        arg: &shell::Arg,
    ) {
        match kind {
            Some(kind) => {
                let provenance = self.prov(site.span, site.stage, site.instruction);
                self.files.push(FileOp { kind, provenance });
            }
            None => self.unknown_path(site, arg),
        }
    }

    fn unknown_path(&mut self, site: EffectSite<'_>, arg: &shell::Arg) {
        let what = excerpt(self.source.slice(site.span));
        self.unsupported(
            site.span,
            site.stage,
            &what,
            format!("the path `{}` is not known before the build runs", arg.text),
            site.instruction,
        );
    }

    /// `apt-get autoremove` / `purge --auto-remove`: every auto-marked
    /// package goes.
    fn autoremove(&mut self, eco: Ecosystem, how: &str, line: usize) {
        for inst in self.installed.iter_mut() {
            if inst.removed.is_none() && inst.auto && inst.request.ecosystem == eco {
                inst.removed = Some((
                    "auto-removed".into(),
                    format!("marked automatic and removed by `{how}` (line {line})"),
                ));
            }
        }
    }

    /// `pip install -r FILE`: read the requirements from the build context
    /// when a COPY put the file there, and record the COPY as consumed.
    fn requirements_file(
        &mut self,
        req: &shell::Arg,
        resolve: &dyn Fn(&str) -> Option<String>,
        site: EffectSite<'_>,
        inline_keeps: &BTreeSet<String>,
        run_index: usize,
    ) {
        let EffectSite {
            span,
            stage,
            instruction: excerpt_text,
        } = site;
        let Some(path) = req.known().and_then(resolve) else {
            self.unknown_path(site, req);
            return;
        };
        let Some(placed) = self.placed.iter().rev().find(|p| p.image_path == path) else {
            self.unsupported(
                span,
                stage,
                &format!("pip install -r {path}"),
                format!("no COPY puts {path} in the image from the build context"),
                excerpt_text,
            );
            return;
        };
        let context_path = placed.context_path.clone();
        let op = placed.op;
        let Some(text) = self.ctx.read_text(&context_path) else {
            self.unsupported(
                span,
                stage,
                &format!("pip install -r {path}"),
                format!("cannot read {context_path} from the build context"),
                excerpt_text,
            );
            return;
        };
        let provenance = self.prov(span, stage, excerpt_text);
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('-') {
                self.unsupported(
                    span,
                    stage,
                    line,
                    format!(
                        "requirements option `{line}` ({context_path}:{}) is not supported yet",
                        i + 1
                    ),
                    excerpt_text,
                );
                continue;
            }
            let (name, version) = split_requirement(line);
            self.installed.push(Installed {
                request: PackageRequest {
                    ecosystem: Ecosystem::Pypi,
                    name: name.clone(),
                    version,
                    arch: None,
                    install_recommends: false,
                    origin: RequestOrigin::Requirements {
                        file: context_path.clone(),
                        line: i + 1,
                    },
                    provenance: provenance.clone(),
                },
                virtual_group: None,
                instruction: run_index,
                auto: false,
                removed: None,
                inline_keep: inline_keeps.contains(&name),
            });
        }
        self.consumed.insert(
            op,
            (format!("read only by `pip install -r {path}`"), provenance),
        );
    }

    /// Names in `# scratchify: keep NAME...` comments directly above an
    /// instruction.
    fn inline_keeps(&self, src: &InstructionSource) -> BTreeSet<String> {
        let text = self.source.text();
        let mut out = BTreeSet::new();
        let mut line_start = text[..src.span.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        while line_start > 0 {
            let prev_end = line_start - 1;
            let prev_start = text[..prev_end].rfind('\n').map_or(0, |i| i + 1);
            let line = text[prev_start..prev_end].trim();
            if let Some(c) = line.strip_prefix('#') {
                if let Some(rest) = c.trim().strip_prefix("scratchify:") {
                    let mut words = rest.split_whitespace();
                    if words.next() == Some("keep") {
                        out.extend(words.map(str::to_string));
                    }
                }
                line_start = prev_start;
            } else {
                break;
            }
        }
        out
    }
}
