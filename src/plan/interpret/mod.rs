//! Interpreting the stages of a parsed Dockerfile into the plan IR.
//!
//! The walk follows BuildKit's semantics for what the image would contain:
//! the final stage (the last one, or `--target`) and the stages it is built
//! `FROM` are interpreted instruction by instruction; stages that only feed
//! `COPY --from` are build stages, dropped whole, with what is copied from
//! them recorded on the COPY.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod run;
use std::sync::Arc;

use crate::dockerfile::lex::Lexer;
use crate::dockerfile::scope::{GlobalScope, ScopeOptions, StageScope};
use crate::dockerfile::{
    CommandLine, Dockerfile, HealthTest, Instruction, InstructionSource, RunInstruction, Word,
};
use crate::shell::{self, Analysis, Effect, Manager};
use crate::source::{SourceDiagnostic, SourceFile, Span};

use super::bases::{self, BaseMapping};
use super::classify;
use super::commands_data;
use super::ir::*;
use super::{ContextFiles, PlanOptions};

/// A package some RUN installed, before classification.
struct Installed {
    request: PackageRequest,
    /// `apk add --virtual NAME`.
    virtual_group: Option<String>,
    /// Index of the RUN instruction that installed it.
    instruction: usize,
    /// Marked automatically installed (`apt-mark auto`).
    auto: bool,
    /// Removed later: the rule, the reason, and where.
    removed: Option<(String, String)>,
    /// A `# scratchify: keep NAME` comment covers it.
    inline_keep: bool,
}

/// A COPY'd context file, for finding the files a build step consumes.
struct PlacedFile {
    image_path: String,
    context_path: String,
    /// Index into `files`.
    op: usize,
}

pub(super) struct Interpreter<'a> {
    df: &'a Dockerfile<'a>,
    source: &'a SourceFile,
    opts: &'a PlanOptions,
    ctx: &'a dyn ContextFiles,
    errors: Vec<SourceDiagnostic>,
    warnings: Vec<SourceDiagnostic>,
    // The plan being built.
    stages: Vec<StageSummary>,
    base: Option<BaseImage>,
    base_mapping: Option<BaseMapping>,
    installed: Vec<Installed>,
    files: Vec<FileOp>,
    accounts: Vec<Account>,
    config: ImageConfig,
    dropped: Vec<Dropped>,
    notes: Vec<Note>,
    placed: Vec<PlacedFile>,
    /// Files consumed by a build step (index into `files`) with the reason.
    consumed: BTreeMap<usize, (String, Provenance)>,
    instruction_counter: usize,
    /// CMD set in the stage being interpreted (ENTRYPOINT keeps it then).
    cmd_set_here: bool,
    /// The first stage of each (lower-cased) name: stage references are
    /// looked up here, so that a file of many stages is not quadratic in
    /// them.
    first_stage_of_name: HashMap<&'a str, usize>,
}

pub(super) struct Outcome {
    pub plan: Plan,
    pub errors: Vec<SourceDiagnostic>,
    pub warnings: Vec<SourceDiagnostic>,
}

fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        let cut: String = one_line.chars().take(57).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

impl<'a> Interpreter<'a> {
    pub(super) fn new(
        df: &'a Dockerfile<'a>,
        source: &'a SourceFile,
        opts: &'a PlanOptions,
        ctx: &'a dyn ContextFiles,
    ) -> Self {
        let mut first_stage_of_name = HashMap::new();
        for stage in &df.stages {
            if let Some(name) = stage.name.as_deref() {
                first_stage_of_name.entry(name).or_insert(stage.index);
            }
        }
        Interpreter {
            first_stage_of_name,
            df,
            source,
            opts,
            ctx,
            errors: Vec::new(),
            warnings: Vec::new(),
            stages: Vec::new(),
            base: None,
            base_mapping: None,
            installed: Vec::new(),
            files: Vec::new(),
            accounts: Vec::new(),
            config: ImageConfig::default(),
            dropped: Vec::new(),
            notes: Vec::new(),
            placed: Vec::new(),
            consumed: BTreeMap::new(),
            instruction_counter: 0,
            cmd_set_here: false,
        }
    }

    fn stage_label(&self, index: usize) -> String {
        self.df
            .stages
            .get(index)
            .and_then(|s| s.name.as_deref().map(str::to_owned))
            .unwrap_or_else(|| index.to_string())
    }

    fn prov(&self, span: Span, stage: usize, instruction: &str) -> Provenance {
        Provenance::new(self.source, span, &self.stage_label(stage), instruction)
    }

    fn instr_prov(&self, src: &InstructionSource, stage: usize) -> Provenance {
        let text = self.source.slice(src.span);
        self.prov(src.span, stage, &excerpt(text))
    }

    fn error(&mut self, span: Span, code: &str, message: String, help: Option<String>) {
        let mut d = SourceDiagnostic::error(self.source, span, code, message);
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.errors.push(d);
    }

    fn unsupported(
        &mut self,
        span: Span,
        stage: usize,
        what: &str,
        reason: String,
        instruction: &str,
    ) {
        if self.opts.allow_unsupported {
            let provenance = self.prov(span, stage, instruction);
            self.dropped.push(Dropped {
                what: DroppedKind::Unsupported {
                    command: excerpt(what),
                },
                rule: "unsupported".into(),
                reason,
                provenance,
            });
        } else if !self
            .errors
            .iter()
            .any(|e| e.code == "plan::unsupported" && e.span == span)
        {
            // One error per command: a command can be opaque and also write
            // unknown content, which says the same thing twice.
            self.error(
                span,
                "plan::unsupported",
                format!("cannot interpret `{}`: {reason}", excerpt(what)),
                Some(
                    "rewrite the step with commands scratchify understands, move it to a build \
                     stage, or pass --allow-unsupported to drop it from the image (reported)"
                        .into(),
                ),
            );
        }
    }

    pub(super) fn run(mut self) -> Outcome {
        let df = self.df;
        // Global scope: build args, predefined platform args, global ARGs.
        let lexer = Lexer::new(df.escape);
        let mut global = GlobalScope::new(ScopeOptions::new(lexer, self.opts.build_args.clone()));
        for arg in &df.global_args {
            for decl in &arg.args {
                if let Err(e) =
                    global.declare_arg(&decl.name.text, decl.default.as_ref().map(|w| &*w.text))
                {
                    let span = decl.default.as_ref().map_or(decl.name.span, |w| w.span);
                    self.error(span, "plan::expansion", e.to_string(), None);
                }
            }
        }
        let global = Arc::new(global);

        if df.stages.is_empty() {
            self.error(
                Span::new(0, 0),
                "plan::no-stage",
                "the Dockerfile has no FROM instruction".into(),
                None,
            );
            return self.finish(0);
        }

        // Stage bases and the final stage.
        let mut base_refs: Vec<String> = Vec::new();
        let mut parent: Vec<Option<usize>> = Vec::new();
        for (i, stage) in df.stages.iter().enumerate() {
            let image = match global.expand(&stage.from.image.text) {
                Ok(e) => e.result,
                Err(e) => {
                    self.error(
                        stage.from.image.span,
                        "plan::expansion",
                        e.to_string(),
                        None,
                    );
                    stage.from.image.text.to_string()
                }
            };
            let p = self.earlier_stage_named(&image, i);
            parent.push(p);
            base_refs.push(image);
        }
        let final_stage = match &self.opts.target {
            Some(t) => match df.stage(t) {
                Some(s) => s.index,
                None => {
                    self.error(
                        Span::new(0, 0),
                        "plan::unknown-target",
                        format!("--target {t}: no stage has that name"),
                        None,
                    );
                    return self.finish(0);
                }
            },
            None => df.stages.len() - 1,
        };
        let mut chain = vec![final_stage];
        while let Some(p) = parent[*chain.last().unwrap_or(&final_stage)] {
            chain.push(p);
        }
        chain.reverse();
        let mut in_chain = vec![false; df.stages.len()];
        for &s in &chain {
            in_chain[s] = true;
        }

        // Which stages the chain copies from (transitively): build stages.
        let mut build: BTreeSet<usize> = BTreeSet::new();
        let mut queue: Vec<usize> = chain.clone();
        while let Some(s) = queue.pop() {
            for from in self.copy_from_stages(s) {
                if !in_chain[from] && build.insert(from) {
                    queue.push(from);
                    // A build stage's ancestors are build stages too.
                    let mut p = parent[from];
                    while let Some(pi) = p {
                        if !in_chain[pi] && build.insert(pi) {
                            queue.push(pi);
                        }
                        p = parent[pi];
                    }
                }
            }
        }
        for (i, stage) in df.stages.iter().enumerate() {
            let role = if i == final_stage {
                StageRole::Final
            } else if in_chain[i] {
                StageRole::Ancestor
            } else if build.contains(&i) {
                StageRole::Build
            } else {
                StageRole::Unused
            };
            let provenance = self.instr_prov(&stage.from.source, i);
            self.stages.push(StageSummary {
                index: i,
                name: stage.name.as_deref().map(str::to_owned),
                base: base_refs[i].clone(),
                role,
                provenance: provenance.clone(),
            });
            if matches!(role, StageRole::Build | StageRole::Unused) {
                let rule = if role == StageRole::Build {
                    "build-stage"
                } else {
                    "unused-stage"
                };
                let reason = if role == StageRole::Build {
                    "a build stage: the image keeps only what COPY --from takes from it"
                } else {
                    "no stage of the image uses it"
                };
                self.dropped.push(Dropped {
                    what: DroppedKind::Stage {
                        name: self.stage_label(i),
                    },
                    rule: rule.into(),
                    reason: reason.into(),
                    provenance,
                });
                self.drop_stage_packages(i, &global, rule);
            }
        }

        // The root of the chain decides the distribution.
        let root = chain[0];
        let root_ref = base_refs[root].clone();
        let from_prov = self.instr_prov(&df.stages[root].from.source, root);
        match bases::map_base(&root_ref) {
            Some(m) => {
                self.base = Some(BaseImage {
                    reference: root_ref.clone(),
                    family: m.family,
                    release: m.release.clone(),
                    release_assumed: m.release_assumed,
                    note: m.note.clone(),
                    provenance: from_prov.clone(),
                });
                if m.release_assumed && m.family != Family::None {
                    self.notes.push(Note {
                        message: format!(
                            "`{root_ref}` names no release; assuming {} {} (set the tag to pin it)",
                            m.family.as_str(),
                            m.release
                        ),
                        provenance: from_prov.clone(),
                    });
                }
                if let Some(n) = &m.note {
                    self.notes.push(Note {
                        message: n.clone(),
                        provenance: from_prov.clone(),
                    });
                }
                self.base_mapping = Some(m);
            }
            None => {
                let known = bases::known_images().join(", ");
                self.error(
                    df.stages[root].from.image.span,
                    "plan::unknown-base",
                    format!("unknown base image `{root_ref}`: scratchify cannot tell which distribution it is"),
                    Some(format!(
                        "map it in a config file like grammar/bases.toml (an [[image]] entry with \
                         its family and runtime packages); known images: {known}"
                    )),
                );
            }
        }

        // Interpret the chain.
        let mut scope: Option<StageScope> = None;
        for &s in &chain {
            let mut st = match scope.take() {
                Some(parent_scope) => StageScope::from_stage(&parent_scope),
                None => StageScope::from_image(Arc::clone(&global), std::iter::empty::<String>()),
            };
            self.interpret_stage(s, &mut st);
            scope = Some(st);
        }

        self.classify_and_finish(final_stage)
    }

    /// Stage indexes named by `COPY --from` (and RUN --mount from=) in a stage.
    fn copy_from_stages(&self, stage: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for ins in self.df.instructions(&self.df.stages[stage]) {
            let mut froms: Vec<Cow<str>> = Vec::new();
            if let Instruction::Copy(c) = ins
                && let Some(f) = &c.from
            {
                froms.push(Cow::Borrowed(&f.text));
            }
            if let Instruction::Run(r) = ins {
                for m in &r.mounts {
                    for f in m.fields() {
                        if f.key == "from"
                            && let Some(v) = f.value
                        {
                            froms.push(v.text);
                        }
                    }
                }
            }
            for f in froms {
                if let Some(i) = self.stage_index(&f, stage) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// A `--from` value naming an earlier stage, by name or index.
    fn stage_index(&self, from: &str, before: usize) -> Option<usize> {
        if let Ok(i) = from.parse::<usize>() {
            return (i < before).then_some(i);
        }
        self.earlier_stage_named(from, before)
    }

    /// The first stage before stage `before` named `name` (ASCII letters
    /// compared case-insensitively; stage names are stored lower-cased).
    fn earlier_stage_named(&self, name: &str, before: usize) -> Option<usize> {
        let first = match name.bytes().any(|b| b.is_ascii_uppercase()) {
            true => self
                .first_stage_of_name
                .get(name.to_ascii_lowercase().as_str()),
            false => self.first_stage_of_name.get(name),
        };
        first.copied().filter(|&i| i < before)
    }

    /// Record every package a build or unused stage installs as dropped.
    fn drop_stage_packages(&mut self, stage: usize, global: &Arc<GlobalScope>, rule: &str) {
        let mut scope = StageScope::from_image(Arc::clone(global), std::iter::empty::<String>());
        for ins in self.df.instructions(&self.df.stages[stage]) {
            match ins {
                Instruction::Arg(a) => {
                    for d in &a.args {
                        let _ =
                            scope.declare_arg(&d.name.text, d.default.as_ref().map(|w| &*w.text));
                    }
                }
                Instruction::Env(e) => {
                    for kv in &e.pairs {
                        let v = scope
                            .expand(&kv.value.text)
                            .map(|x| x.result)
                            .unwrap_or_default();
                        scope.set_env(&kv.key.text, &v);
                    }
                }
                Instruction::Run(r) => {
                    let (analysis, map) = self.analyze_run(r, &scope);
                    for (_, effect) in analysis.effects() {
                        if let Effect::PackageInstall {
                            manager, packages, ..
                        } = effect
                        {
                            for p in packages {
                                let span = map(p.span);
                                let provenance = self.prov(
                                    span,
                                    stage,
                                    &excerpt(self.source.slice(r.source.span)),
                                );
                                self.dropped.push(Dropped {
                                    what: DroppedKind::Package {
                                        ecosystem: manager_ecosystem(*manager),
                                        name: p.name.clone(),
                                        category: None,
                                    },
                                    rule: rule.into(),
                                    reason: format!(
                                        "installed in stage {} to build; the image takes only what COPY --from copies",
                                        self.stage_label(stage)
                                    ),
                                    provenance,
                                });
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Analyse a RUN: its shell script (or argv), with a map from spans in
    /// the analysed text back to the Dockerfile.
    fn analyze_run(
        &self,
        r: &RunInstruction,
        scope: &StageScope,
    ) -> (Analysis, Box<dyn Fn(Span) -> Span + 'a>) {
        let vars = |name: &str| scope.lookup(name).map(str::to_string);
        match &r.command {
            CommandLine::Exec { args } => {
                let argv: Vec<String> = args.iter().map(|w| w.text.to_string()).collect();
                let whole = r.source.span;
                // Exec-form spans index `argv.join(" ")`; map each back to
                // the argument it falls in.
                let mut starts = Vec::new();
                let mut off = 0;
                for w in args {
                    starts.push((off, w.span));
                    off += w.text.len() + 1;
                }
                let analysis = shell::analyze_argv_with(&argv, &vars);
                let map = move |s: Span| {
                    starts
                        .iter()
                        .rev()
                        .find(|(o, _)| *o <= s.start)
                        .map(|(_, sp)| *sp)
                        .unwrap_or(whole)
                };
                (analysis, Box::new(map))
            }
            CommandLine::Shell { command } => {
                // `RUN <<EOF` with the script in the heredoc body.
                let command_text = command.text();
                let trimmed = command_text.trim();
                if let Some(h) = r.files.first()
                    && r.files.len() == 1
                    && trimmed.starts_with("<<")
                    && !trimmed.contains(' ')
                {
                    let body = h.data();
                    let body_start = h.body_span.start;
                    let analysis = shell::analyze_script(&body, &vars);
                    let chomped = h.chomp;
                    let whole = h.body_span;
                    let map = move |s: Span| {
                        if chomped {
                            whole
                        } else {
                            s.shifted(body_start)
                        }
                    };
                    return (analysis, Box::new(map));
                }
                let len = command_text.len();
                let mut text = command_text.into_owned();
                for h in &r.files {
                    // Heredocs feed the commands' standard input: give the
                    // shell the bodies the way sh would read them.
                    text.push('\n');
                    text.push_str(&h.content);
                    text.push_str(&h.name);
                    text.push('\n');
                }
                let analysis = shell::analyze_script(&text, &vars);
                let map_text = command.map.clone();
                let whole = r.source.span;
                let map = move |s: Span| {
                    if s.end <= len {
                        map_text.span(s.start, s.end)
                    } else {
                        whole
                    }
                };
                (analysis, Box::new(map))
            }
        }
    }

    fn expand_word(&mut self, scope: &StageScope, w: &Word) -> String {
        match scope.expand(&w.text) {
            Ok(e) => e.result,
            Err(e) => {
                self.error(w.span, "plan::expansion", e.to_string(), None);
                w.text.to_string()
            }
        }
    }

    fn interpret_stage(&mut self, stage: usize, scope: &mut StageScope) {
        let df = self.df;
        self.cmd_set_here = false;
        let mut workdir = self
            .config
            .workdir
            .as_ref()
            .map(|w| w.value.clone())
            .unwrap_or_else(|| "/".to_string());
        for ins in df.instructions(&df.stages[stage]) {
            self.instruction_counter += 1;
            match ins {
                Instruction::Arg(a) => {
                    for d in &a.args {
                        if let Err(e) =
                            scope.declare_arg(&d.name.text, d.default.as_ref().map(|w| &*w.text))
                        {
                            self.error(d.name.span, "plan::expansion", e.to_string(), None);
                        }
                    }
                }
                Instruction::Env(e) => {
                    let provenance = self.instr_prov(&e.source, stage);
                    for kv in &e.pairs {
                        let v = self.expand_word(scope, &kv.value);
                        let k = self.expand_word(scope, &kv.key);
                        scope.set_env(&k, &v);
                        self.config.env.retain(|s| s.value.0 != k);
                        self.config.env.push(Setting {
                            value: (k, v),
                            provenance: provenance.clone(),
                        });
                    }
                }
                Instruction::Label(l) => {
                    let provenance = self.instr_prov(&l.source, stage);
                    for kv in &l.pairs {
                        let k = self.expand_word(scope, &kv.key);
                        let v = self.expand_word(scope, &kv.value);
                        self.config.labels.retain(|s| s.value.0 != k);
                        self.config.labels.push(Setting {
                            value: (k, v),
                            provenance: provenance.clone(),
                        });
                    }
                }
                Instruction::Expose(x) => {
                    let provenance = self.instr_prov(&x.source, stage);
                    for p in &x.ports {
                        let v = self.expand_word(scope, p);
                        for port in v.split_whitespace() {
                            let port = if port.contains('/') {
                                port.to_string()
                            } else {
                                format!("{port}/tcp")
                            };
                            if !self.config.exposed_ports.iter().any(|s| s.value == port) {
                                self.config.exposed_ports.push(Setting {
                                    value: port,
                                    provenance: provenance.clone(),
                                });
                            }
                        }
                    }
                }
                Instruction::Volume(v) => {
                    let provenance = self.instr_prov(&v.source, stage);
                    for w in &v.volumes {
                        let path = self.expand_word(scope, w);
                        if !self.config.volumes.iter().any(|s| s.value == path) {
                            self.config.volumes.push(Setting {
                                value: path,
                                provenance: provenance.clone(),
                            });
                        }
                    }
                }
                Instruction::User(u) => {
                    let value = self.expand_word(scope, &u.user);
                    let provenance = self.instr_prov(&u.source, stage);
                    self.config.user = Some(Setting { value, provenance });
                }
                Instruction::Workdir(w) => {
                    let p = self.expand_word(scope, &w.path);
                    workdir = if p.starts_with('/') {
                        p
                    } else {
                        format!("{}/{}", workdir.trim_end_matches('/'), p)
                    };
                    let provenance = self.instr_prov(&w.source, stage);
                    // WORKDIR creates the directory.
                    self.files.push(FileOp {
                        kind: FileOpKind::MakeDir {
                            path: workdir.clone(),
                            mode: None,
                            owner: None,
                        },
                        provenance: provenance.clone(),
                    });
                    self.config.workdir = Some(Setting {
                        value: workdir.clone(),
                        provenance,
                    });
                }
                Instruction::StopSignal(s) => {
                    let value = self.expand_word(scope, &s.signal);
                    let provenance = self.instr_prov(&s.source, stage);
                    self.config.stop_signal = Some(Setting { value, provenance });
                }
                Instruction::Shell(s) => {
                    let provenance = self.instr_prov(&s.source, stage);
                    self.config.shell = Some(Setting {
                        value: s.shell.iter().map(|w| w.text.to_string()).collect(),
                        provenance,
                    });
                }
                Instruction::Cmd(c) => {
                    let provenance = self.instr_prov(&c.source, stage);
                    self.config.cmd = Some(Setting {
                        value: command_of(&c.command),
                        provenance,
                    });
                    self.cmd_set_here = true;
                }
                Instruction::Entrypoint(e) => {
                    let provenance = self.instr_prov(&e.source, stage);
                    self.config.entrypoint = Some(Setting {
                        value: command_of(&e.command),
                        provenance,
                    });
                    // Like Docker: an ENTRYPOINT resets a CMD inherited from
                    // a parent stage, not one set in this stage.
                    if !self.cmd_set_here {
                        self.config.cmd = None;
                    }
                }
                Instruction::Healthcheck(h) => {
                    let provenance = self.instr_prov(&h.source, stage);
                    let test = match &h.test {
                        HealthTest::None => vec!["NONE".to_string()],
                        HealthTest::Cmd { command } => match command {
                            CommandLine::Exec { args } => {
                                let mut v = vec!["CMD".to_string()];
                                v.extend(args.iter().map(|w| w.text.to_string()));
                                v
                            }
                            CommandLine::Shell { command } => {
                                vec!["CMD-SHELL".to_string(), command.text().into_owned()]
                            }
                        },
                    };
                    let d = |f: &Option<crate::dockerfile::DurationFlag>| {
                        f.as_ref().map(|d| d.word.text.to_string())
                    };
                    self.config.healthcheck = Some(Setting {
                        value: Healthcheck {
                            test,
                            interval: d(&h.interval),
                            timeout: d(&h.timeout),
                            start_period: d(&h.start_period),
                            start_interval: d(&h.start_interval),
                            retries: h.retries.and_then(|r| u32::try_from(r).ok()),
                        },
                        provenance,
                    });
                }
                Instruction::Onbuild(o) => {
                    let provenance = self.instr_prov(&o.source, stage);
                    self.notes.push(Note {
                        message: "ONBUILD triggers run only in images built FROM this one; \
                                  they do not change this image"
                            .into(),
                        provenance,
                    });
                }
                Instruction::Maintainer(m) => {
                    let provenance = self.instr_prov(&m.source, stage);
                    self.notes.push(Note {
                        message: "MAINTAINER is deprecated; it sets only the image author".into(),
                        provenance,
                    });
                }
                Instruction::From(_) => {}
                Instruction::Copy(c) => {
                    let provenance = self.instr_prov(&c.source, stage);
                    let dest = self.expand_word(scope, &c.dest);
                    let dest = absolute(&workdir, &dest);
                    let source = match &c.from {
                        Some(f) => {
                            let from = self.expand_word(scope, f);
                            match self.stage_index(&from, stage) {
                                Some(i) => CopySource::Stage {
                                    name: self.stage_label(i),
                                    index: i,
                                },
                                None => CopySource::Image { reference: from },
                            }
                        }
                        None => CopySource::Context,
                    };
                    let sources: Vec<String> = c
                        .sources
                        .iter()
                        .map(|w| self.expand_word(scope, w))
                        .collect();
                    let chown = c.chown.as_ref().map(|w| self.expand_word(scope, w));
                    let chmod = c.chmod.as_ref().map(|w| self.expand_word(scope, w));
                    let exclude = c
                        .exclude
                        .iter()
                        .map(|w| self.expand_word(scope, w))
                        .collect();
                    for inline in &c.inline_sources {
                        self.files.push(FileOp {
                            kind: FileOpKind::Copy {
                                source: CopySource::Heredoc {
                                    name: inline.path.clone(),
                                    content: inline.data.to_string(),
                                },
                                sources: vec![inline.path.clone()],
                                dest: dest.clone(),
                                chown: chown.clone(),
                                chmod: chmod.clone(),
                                link: c.link,
                                parents: c.parents,
                                exclude: Vec::new(),
                                unpack: false,
                            },
                            provenance: provenance.clone(),
                        });
                    }
                    if !sources.is_empty() {
                        self.record_copy(
                            source, sources, dest, chown, chmod, c.link, c.parents, exclude, false,
                            provenance,
                        );
                    }
                }
                Instruction::Add(a) => {
                    let provenance = self.instr_prov(&a.source, stage);
                    let dest = self.expand_word(scope, &a.dest);
                    let dest = absolute(&workdir, &dest);
                    let sources: Vec<String> = a
                        .sources
                        .iter()
                        .map(|w| self.expand_word(scope, w))
                        .collect();
                    let chown = a.chown.as_ref().map(|w| self.expand_word(scope, w));
                    let chmod = a.chmod.as_ref().map(|w| self.expand_word(scope, w));
                    let checksum = a.checksum.as_ref().map(|w| self.expand_word(scope, w));
                    let exclude: Vec<String> = a
                        .exclude
                        .iter()
                        .map(|w| self.expand_word(scope, w))
                        .collect();
                    let (urls, local): (Vec<String>, Vec<String>) = sources
                        .into_iter()
                        .partition(|s| s.contains("://") || s.starts_with("git@"));
                    for url in urls {
                        if checksum.is_none() {
                            self.warnings.push(
                                SourceDiagnostic::warning(
                                    self.source,
                                    a.source.span,
                                    "plan::unverified-download",
                                    format!("ADD {url} has no --checksum; the build cannot verify what it downloads"),
                                )
                                .with_help("add --checksum=sha256:<digest>"),
                            );
                        }
                        self.files.push(FileOp {
                            kind: FileOpKind::Copy {
                                source: CopySource::Url {
                                    url: url.clone(),
                                    checksum: checksum.clone(),
                                },
                                sources: vec![url],
                                dest: dest.clone(),
                                chown: chown.clone(),
                                chmod: chmod.clone(),
                                link: a.link,
                                parents: false,
                                exclude: Vec::new(),
                                unpack: a.unpack.unwrap_or(false),
                            },
                            provenance: provenance.clone(),
                        });
                    }
                    if !local.is_empty() {
                        // ADD unpacks local tar archives unless --unpack=false.
                        let unpack = a.unpack.unwrap_or(true);
                        self.record_copy(
                            CopySource::Context,
                            local,
                            dest,
                            chown,
                            chmod,
                            a.link,
                            false,
                            exclude,
                            unpack,
                            provenance,
                        );
                    }
                }
                Instruction::Run(r) => self.interpret_run(stage, r, scope, &workdir),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_copy(
        &mut self,
        source: CopySource,
        sources: Vec<String>,
        dest: String,
        chown: Option<String>,
        chmod: Option<String>,
        link: bool,
        parents: bool,
        exclude: Vec<String>,
        unpack: bool,
        provenance: Provenance,
    ) {
        let op = self.files.len();
        if matches!(source, CopySource::Context) {
            let into_dir = dest.ends_with('/') || sources.len() > 1;
            for s in &sources {
                let name = s.trim_end_matches('/').rsplit('/').next().unwrap_or(s);
                let image_path = if into_dir {
                    format!("{}/{}", dest.trim_end_matches('/'), name)
                } else {
                    dest.clone()
                };
                self.placed.push(PlacedFile {
                    image_path,
                    context_path: s.clone(),
                    op,
                });
            }
        }
        self.files.push(FileOp {
            kind: FileOpKind::Copy {
                source,
                sources,
                dest,
                chown,
                chmod,
                link,
                parents,
                exclude,
                unpack,
            },
            provenance,
        });
    }

    fn classify_and_finish(mut self, final_stage: usize) -> Outcome {
        let family = self.base.as_ref().map(|b| b.family);
        let entry_commands = self.entry_commands();
        let mut packages = Vec::new();
        let installed = std::mem::take(&mut self.installed);
        for inst in installed {
            let name = &inst.request.name;
            let eco = inst.request.ecosystem;
            let user_keep = self.opts.keep.iter().any(|k| k == name) || inst.inline_keep;
            let user_drop = self.opts.drop.iter().any(|k| k == name);
            let runs_it = family.is_some_and(|f| {
                entry_commands.iter().any(|c| {
                    commands_data::package_for_command(f, c) == Some(name.as_str()) || c == name
                })
            });
            let provenance = inst.request.provenance.clone();
            let drop = |rule: &str, reason: String, category: Option<String>| Dropped {
                what: DroppedKind::Package {
                    ecosystem: eco,
                    name: name.clone(),
                    category,
                },
                rule: rule.into(),
                reason,
                provenance: provenance.clone(),
            };
            if user_drop {
                self.dropped.push(drop(
                    "user/drop",
                    "dropped on request (--drop)".into(),
                    None,
                ));
            } else if let Some((rule, reason)) = &inst.removed {
                if user_keep {
                    packages.push(inst.request);
                } else {
                    self.dropped.push(drop(rule, reason.clone(), None));
                }
            } else if user_keep || runs_it {
                packages.push(inst.request);
            } else if let Some(rule) = classify::build_only_rule(eco, name) {
                self.dropped.push(drop(
                    &rule.id,
                    rule.reason.clone(),
                    Some(rule.category.clone()),
                ));
            } else {
                packages.push(inst.request);
            }
        }

        // The base image's runtime stand-ins, and interpreters that kept
        // packages or the entrypoint need.
        let from_prov = self.base.as_ref().map(|b| b.provenance.clone());
        if let (Some(m), Some(prov), Some(fam)) = (&self.base_mapping, from_prov, family) {
            let eco = fam.ecosystem();
            let base_ref = self
                .base
                .as_ref()
                .map(|b| b.reference.clone())
                .unwrap_or_default();
            if let Some(eco) = eco {
                for r in &m.runtime {
                    if !packages.iter().any(|p| p.ecosystem == eco && p.name == *r) {
                        packages.push(PackageRequest {
                            ecosystem: eco,
                            name: r.clone(),
                            version: None,
                            arch: None,
                            install_recommends: false,
                            origin: RequestOrigin::BaseRuntime {
                                image: base_ref.clone(),
                            },
                            provenance: prov.clone(),
                        });
                    }
                }
                let mut implied: Vec<(String, String)> = Vec::new();
                for lang in [Ecosystem::Pypi, Ecosystem::Npm, Ecosystem::Gem] {
                    if packages.iter().any(|p| p.ecosystem == lang)
                        && let Some(rt) = commands_data::implied_runtime(lang, fam)
                    {
                        implied.push((
                            rt.to_string(),
                            format!("{} packages need it", lang.as_str()),
                        ));
                    }
                }
                for c in &entry_commands {
                    if let Some(pkg) = commands_data::package_for_command(fam, c) {
                        implied.push((pkg.to_string(), format!("the image runs `{c}`")));
                    }
                }
                for (name, reason) in implied {
                    if !packages
                        .iter()
                        .any(|p| p.ecosystem == eco && p.name == name)
                        && !self.opts.drop.contains(&name)
                    {
                        packages.push(PackageRequest {
                            ecosystem: eco,
                            name,
                            version: None,
                            arch: None,
                            install_recommends: false,
                            origin: RequestOrigin::Implied { reason },
                            provenance: prov.clone(),
                        });
                    }
                }
            }
            for name in &m.base_content {
                if packages.iter().any(|p| p.name == *name) {
                    continue;
                }
                self.dropped.push(Dropped {
                    what: DroppedKind::BaseContent { name: name.clone() },
                    rule: "base/not-carried".into(),
                    reason: format!("part of {base_ref}, which the image does not start from"),
                    provenance: prov.clone(),
                });
            }
        }

        // Files consumed by build steps leave the image.
        let consumed = std::mem::take(&mut self.consumed);
        let mut files = Vec::new();
        for (i, f) in std::mem::take(&mut self.files).into_iter().enumerate() {
            if let Some((reason, _)) = consumed.get(&i) {
                let path = match &f.kind {
                    FileOpKind::Copy { sources, .. } => sources.join(" "),
                    _ => String::new(),
                };
                self.dropped.push(Dropped {
                    what: DroppedKind::File { path },
                    rule: "build-input/consumed".into(),
                    reason: reason.clone(),
                    provenance: f.provenance,
                });
            } else {
                files.push(f);
            }
        }
        self.files = files;
        let mut outcome = self.finish(final_stage);
        outcome.plan.packages = packages;
        outcome
    }

    /// argv[0] of ENTRYPOINT, CMD (when there is no entrypoint) and the
    /// healthcheck: the commands the image runs.
    fn entry_commands(&self) -> Vec<String> {
        let mut out = Vec::new();
        let first = |c: &Command| match c {
            Command::Exec(v) => v.first().cloned(),
            Command::Shell(s) => s.split_whitespace().next().map(str::to_string),
        };
        if let Some(e) = &self.config.entrypoint {
            out.extend(first(&e.value));
        } else if let Some(c) = &self.config.cmd {
            out.extend(first(&c.value));
        }
        if let Some(h) = &self.config.healthcheck {
            match h.value.test.first().map(String::as_str) {
                Some("CMD") => out.extend(h.value.test.get(1).cloned()),
                Some("CMD-SHELL") => out.extend(
                    h.value
                        .test
                        .get(1)
                        .and_then(|s| s.split_whitespace().next())
                        .map(str::to_string),
                ),
                _ => {}
            }
        }
        out.into_iter()
            .map(|c| c.rsplit('/').next().unwrap_or(&c).to_string())
            .collect()
    }

    fn finish(self, final_stage: usize) -> Outcome {
        Outcome {
            plan: Plan {
                dockerfile: self.source.name().to_string(),
                stages: self.stages,
                final_stage,
                base: self.base,
                packages: Vec::new(),
                files: self.files,
                accounts: self.accounts,
                config: self.config,
                dropped: self.dropped,
                notes: self.notes,
            },
            errors: self.errors,
            warnings: self.warnings,
        }
    }
}

fn command_of(c: &CommandLine) -> Command {
    match c {
        CommandLine::Exec { args } => {
            Command::Exec(args.iter().map(|w| w.text.to_string()).collect())
        }
        CommandLine::Shell { command } => Command::Shell(command.text().into_owned()),
    }
}

fn absolute(workdir: &str, p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        let trailing = if p.ends_with('/') || p == "." {
            "/"
        } else {
            ""
        };
        let joined = format!(
            "{}/{}",
            workdir.trim_end_matches('/'),
            p.trim_start_matches("./")
        );
        let joined = joined.trim_end_matches("/.").to_string();
        if trailing == "/" && !joined.ends_with('/') {
            format!("{joined}/")
        } else {
            joined
        }
    }
}

pub(super) fn manager_ecosystem(m: Manager) -> Ecosystem {
    match m {
        Manager::Apt | Manager::Dpkg => Ecosystem::Debian,
        Manager::Apk => Ecosystem::Alpine,
        Manager::Dnf | Manager::Yum | Manager::Microdnf => Ecosystem::Rpm,
        Manager::Pip => Ecosystem::Pypi,
        Manager::Nix => Ecosystem::Nix,
        Manager::Npm => Ecosystem::Npm,
        Manager::Gem => Ecosystem::Gem,
    }
}

fn op_str(op: shell::VersionOp) -> &'static str {
    use shell::VersionOp::*;
    match op {
        Eq => "=",
        Ne => "!=",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
        Compatible => "~=",
        Arbitrary => "===",
        Fuzzy => "~",
        Spec => "",
    }
}

/// `Flask==3.0.3` -> (`Flask`, `==3.0.3`); markers after `;` are kept with
/// the version text.
fn split_requirement(line: &str) -> (String, Option<String>) {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(line.len());
    let name = line[..end].to_string();
    let rest = line[end..].trim();
    // Extras (`pkg[extra]`) are part of what is installed but not the name.
    let rest = if rest.starts_with('[') {
        rest.find(']').map_or(rest, |i| rest[i + 1..].trim())
    } else {
        rest
    };
    (name, (!rest.is_empty()).then(|| rest.to_string()))
}
