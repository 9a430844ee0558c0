//! The plan in human form: what is kept and what is dropped, each with its
//! reason and Dockerfile line.

use std::fmt::Write;

use super::ir::*;

fn loc(p: &Provenance) -> String {
    p.location()
}

fn command(c: &Command) -> String {
    match c {
        Command::Exec(v) => serde_json::to_string(v).unwrap_or_default(),
        Command::Shell(s) => s.clone(),
    }
}

/// Render the plan as aligned text sections. Colour is never used: the output
/// is for terminals and logs alike.
pub fn human(plan: &Plan) -> String {
    let mut out = String::new();
    let final_stage = plan.stages.get(plan.final_stage);
    let _ = write!(out, "Plan for {}", plan.dockerfile);
    if let Some(s) = final_stage {
        let name = s
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let _ = write!(out, ": final stage #{}{}, FROM {}", s.index, name, s.base);
    }
    out.push('\n');
    if let Some(b) = &plan.base {
        let assumed = if b.release_assumed {
            " (assumed: the tag names no release)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  packages from {} {}{}",
            b.family.as_str(),
            b.release,
            assumed
        );
    } else {
        let _ = writeln!(out, "  no distribution: the image starts from scratch");
    }
    if plan.stages.len() > 1 {
        out.push_str("\nStages\n");
        for s in &plan.stages {
            let role = match s.role {
                StageRole::Final => "final",
                StageRole::Ancestor => "ancestor of the final stage",
                StageRole::Build => "build stage (only feeds COPY --from)",
                StageRole::Unused => "unused",
            };
            let name = s.name.clone().unwrap_or_else(|| format!("#{}", s.index));
            let _ = writeln!(out, "  {:<20} {:<40} {}", name, role, loc(&s.provenance));
        }
    }

    let mut rows: Vec<(String, String, String)> = Vec::new();
    for p in &plan.packages {
        let version = p.version.as_deref().unwrap_or("");
        let why = match &p.origin {
            RequestOrigin::Install { command } => command.clone(),
            RequestOrigin::BaseRuntime { image } => format!("runtime of {image}"),
            RequestOrigin::Requirements { file, line } => format!("{file}:{line}"),
            RequestOrigin::Implied { reason } => reason.clone(),
        };
        rows.push((
            format!("package {}:{}{}", p.ecosystem.as_str(), p.name, version),
            why,
            loc(&p.provenance),
        ));
    }
    for a in &plan.accounts {
        let kind = match a.kind {
            AccountKind::User => "user",
            AccountKind::Group => "group",
        };
        let mut detail = Vec::new();
        if let Some(id) = a.id {
            detail.push(format!("id {id}"));
        }
        if let Some(g) = &a.group {
            detail.push(format!("group {g}"));
        }
        if let Some(h) = &a.home {
            detail.push(format!("home {h}"));
        }
        if a.system {
            detail.push("system".to_string());
        }
        rows.push((
            format!("{kind} {}", a.name),
            detail.join(", "),
            loc(&a.provenance),
        ));
    }
    for f in &plan.files {
        rows.push((file_op(&f.kind), String::new(), loc(&f.provenance)));
    }
    out.push_str("\nKeep\n");
    table(&mut out, &rows);

    // Base-image content is one row: the list is long and always the same
    // reason.
    let base_content: Vec<&str> = plan
        .dropped
        .iter()
        .filter_map(|d| match &d.what {
            DroppedKind::BaseContent { name } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut rows: Vec<_> = plan
        .dropped
        .iter()
        .filter(|d| !matches!(d.what, DroppedKind::BaseContent { .. }))
        .map(|d| {
            let what = match &d.what {
                DroppedKind::Package {
                    ecosystem, name, ..
                } => {
                    format!("package {}:{}", ecosystem.as_str(), name)
                }
                DroppedKind::Stage { name } => format!("stage {name}"),
                DroppedKind::RunStep { command } => format!("run {command}"),
                DroppedKind::File { path } => format!("file {path}"),
                DroppedKind::BaseContent { name } => format!("base {name}"),
                DroppedKind::Unsupported { command } => format!("unsupported {command}"),
            };
            (
                what,
                format!("[{}] {}", d.rule, d.reason),
                loc(&d.provenance),
            )
        })
        .collect();
    if let Some(first) = plan
        .dropped
        .iter()
        .find(|d| matches!(d.what, DroppedKind::BaseContent { .. }))
    {
        rows.push((
            format!("base image content ({} packages)", base_content.len()),
            format!(
                "[{}] {}: {}",
                first.rule,
                first.reason,
                base_content.join(", ")
            ),
            loc(&first.provenance),
        ));
    }
    out.push_str("\nDrop\n");
    table(&mut out, &rows);

    out.push_str("\nConfig\n");
    let c = &plan.config;
    let mut rows = Vec::new();
    if let Some(e) = &c.entrypoint {
        rows.push(("ENTRYPOINT".into(), command(&e.value), loc(&e.provenance)));
    }
    if let Some(e) = &c.cmd {
        rows.push(("CMD".into(), command(&e.value), loc(&e.provenance)));
    }
    for e in &c.env {
        rows.push((
            "ENV".into(),
            format!("{}={}", e.value.0, e.value.1),
            loc(&e.provenance),
        ));
    }
    if let Some(u) = &c.user {
        rows.push(("USER".into(), u.value.clone(), loc(&u.provenance)));
    }
    if let Some(w) = &c.workdir {
        rows.push(("WORKDIR".into(), w.value.clone(), loc(&w.provenance)));
    }
    for p in &c.exposed_ports {
        rows.push(("EXPOSE".into(), p.value.clone(), loc(&p.provenance)));
    }
    for v in &c.volumes {
        rows.push(("VOLUME".into(), v.value.clone(), loc(&v.provenance)));
    }
    for l in &c.labels {
        rows.push((
            "LABEL".into(),
            format!("{}={}", l.value.0, l.value.1),
            loc(&l.provenance),
        ));
    }
    if let Some(s) = &c.stop_signal {
        rows.push(("STOPSIGNAL".into(), s.value.clone(), loc(&s.provenance)));
    }
    if let Some(h) = &c.healthcheck {
        rows.push((
            "HEALTHCHECK".into(),
            h.value.test.join(" "),
            loc(&h.provenance),
        ));
    }
    table(&mut out, &rows);

    if !plan.notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in &plan.notes {
            let _ = writeln!(out, "  {}: {}", loc(&n.provenance), n.message);
        }
    }
    out
}

fn file_op(k: &FileOpKind) -> String {
    match k {
        FileOpKind::Copy {
            source,
            sources,
            dest,
            ..
        } => {
            let from = match source {
                CopySource::Context => String::new(),
                CopySource::Stage { name, .. } => format!(" --from={name}"),
                CopySource::Image { reference } => format!(" --from={reference}"),
                CopySource::Url { .. } => " (url)".to_string(),
                CopySource::Heredoc { name, .. } => format!(" <<{name}"),
            };
            if matches!(source, CopySource::Heredoc { .. }) {
                format!("copy{from} -> {dest}")
            } else {
                format!("copy{from} {} -> {dest}", sources.join(" "))
            }
        }
        FileOpKind::MakeDir { path, mode, owner } => {
            let mut s = format!("mkdir {path}");
            if let Some(m) = mode {
                let _ = write!(s, " mode {m:o}");
            }
            if let Some(o) = owner {
                let _ = write!(s, " owner {o}");
            }
            s
        }
        FileOpKind::Chown {
            path,
            owner,
            recursive,
        } => format!(
            "chown{} {owner} {path}",
            if *recursive { " -R" } else { "" }
        ),
        FileOpKind::Chmod {
            path,
            mode,
            recursive,
        } => format!("chmod{} {mode} {path}", if *recursive { " -R" } else { "" }),
        FileOpKind::Symlink { link, target } => format!("symlink {link} -> {target}"),
        FileOpKind::WriteFile { path, append, .. } => {
            format!("{} {path}", if *append { "append" } else { "write" })
        }
        FileOpKind::Touch { path } => format!("touch {path}"),
        FileOpKind::Remove { path, recursive } => {
            format!("remove{} {path}", if *recursive { " -r" } else { "" })
        }
        FileOpKind::CopyInImage { sources, dest, .. } => {
            format!("cp {} -> {dest}", sources.join(" "))
        }
        FileOpKind::Move { sources, dest } => format!("mv {} -> {dest}", sources.join(" ")),
        FileOpKind::Hardlink { link, target } => format!("hardlink {link} -> {target}"),
    }
}

fn table(out: &mut String, rows: &[(String, String, String)]) {
    if rows.is_empty() {
        out.push_str("  (nothing)\n");
        return;
    }
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .min(72);
    for (a, b, c) in rows {
        let _ = writeln!(out, "  {a:<w0$}  {b:<w1$}  {c}");
    }
}
