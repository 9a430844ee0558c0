//! ARG and ENV scoping across stages, as BuildKit's `dockerfile2llb` does it.
//!
//! The model is independent of instruction types: the instruction layer
//! calls it with names and raw words, in Dockerfile order.
//!
//! * [`GlobalScope`] holds what exists before the first `FROM`: the build
//!   arguments from the command line (`--build-arg K=V`), BuildKit's
//!   predefined platform arguments, and the global `ARG`s. Global values are
//!   visible to `FROM` lines (image name and `--platform`) and to later
//!   global `ARG` defaults, and to a stage only when the stage re-declares
//!   the name with `ARG NAME`.
//! * [`StageScope`] is one stage. It starts from its base: an image's config
//!   `Env` (with BuildKit's default `PATH` when the image has none), or an
//!   earlier stage named in `FROM`, whose environment, ENVs *and* ARG values
//!   it inherits. Words in the stage expand against its environment.
//!
//! Lookup precedence is BuildKit's, which is simpler than "ENV beats ARG":
//! a stage has one ordered environment and the later definition wins. An
//! `ENV` after an `ARG` of the same name shadows it (the rule Docker
//! documents), and an `ARG` after an `ENV` of the same name replaces it for
//! the rest of the stage, because BuildKit adds ARG values to the same
//! environment. The image config's `Env`, which is what ends up in the built
//! image, only ever holds the base image's variables and `ENV`s
//! ([`StageScope::image_env`]). When a stage is built `FROM` an earlier
//! stage, that config `Env` is applied again on top of the inherited
//! environment, so there an `ENV` of the parent wins over a parent `ARG` of
//! the same name whatever their order.
//!
//! Which instructions expand which words is recorded in
//! [`INSTRUCTION_EXPANSIONS`]; the instruction layer expands every word of
//! one instruction against the scope as it was *before* that instruction
//! (`ENV a=1 b=$a` sees the old `a`), then applies the instruction.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::dockerfile::lex::{Env, Expansion, LexError, Lexer};

/// BuildKit's default `PATH` for Linux images that do not set one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The names of BuildKit's automatic platform and target arguments, in the
/// order BuildKit defines them. They exist in the global scope without any
/// `ARG`; a stage sees one only after `ARG NAME`.
pub const PREDEFINED_ARGS: [&str; 11] = [
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDOSVERSION",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETOSVERSION",
    "TARGETARCH",
    "TARGETVARIANT",
    "TARGETSTAGE",
];

/// The proxy build arguments (matched without regard to case). They need no
/// `ARG`: BuildKit hands them to every `RUN` as environment variables, but
/// they take no part in word expansion unless declared.
pub const PROXY_ARGS: [&str; 5] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
];

/// Arguments BuildKit reads itself and never puts into a stage's
/// environment, even when declared with `ARG`.
pub const NON_ENV_ARGS: [&str; 2] = ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

/// An ordered list of variables with BuildKit's two update rules.
///
/// [`OrderedEnv::add_or_replace`] is LLB's `AddOrReplace` (a redefined name
/// moves to the end), used for the build environment;
/// [`OrderedEnv::set_in_place`] is the image config's `addEnv` (a redefined
/// name keeps its position). Both are O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderedEnv {
    /// name -> (sequence number, value)
    by_name: BTreeMap<String, (u64, String)>,
    /// sequence number -> name
    order: BTreeMap<u64, String>,
    next_seq: u64,
}

impl OrderedEnv {
    pub fn new() -> Self {
        OrderedEnv::default()
    }

    /// Parses `KEY=VALUE` entries (an image config's `Env`), a later entry
    /// for a name replacing an earlier one; an entry without `=` has an
    /// empty value.
    pub fn from_entries<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut env = OrderedEnv::new();
        for entry in entries {
            let entry = entry.as_ref();
            let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
            env.add_or_replace(k, v);
        }
        env
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Sets `name`, moving it to the end of the order.
    pub fn add_or_replace(&mut self, name: &str, value: &str) {
        if let Some((seq, _)) = self.by_name.remove(name) {
            self.order.remove(&seq);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, name.to_owned());
        self.by_name
            .insert(name.to_owned(), (seq, value.to_owned()));
    }

    /// Sets `name`, keeping its position if it is already there.
    pub fn set_in_place(&mut self, name: &str, value: &str) {
        match self.by_name.get_mut(name) {
            Some((_, v)) => *v = value.to_owned(),
            None => self.add_or_replace(name, value),
        }
    }

    /// The variables in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.order.values().filter_map(|name| {
            self.by_name
                .get(name)
                .map(|(_, v)| (name.as_str(), v.as_str()))
        })
    }

    /// The names in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.order.values().map(String::as_str)
    }

    /// `KEY=VALUE` strings in order, as an image config stores them.
    pub fn to_entries(&self) -> Vec<String> {
        self.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

impl Env for OrderedEnv {
    fn get(&self, name: &str) -> Option<&str> {
        OrderedEnv::get(self, name)
    }
}

/// A platform as BuildKit's predefined arguments describe it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
    pub os_version: String,
}

/// A platform string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("invalid platform {spec:?}: expected os/arch[/variant]")]
#[diagnostic(code(dockerfile::platform))]
pub struct PlatformError {
    pub spec: String,
}

impl Platform {
    /// `linux/amd64`, the default target and build platform.
    pub fn linux_amd64() -> Self {
        Platform {
            os: "linux".to_owned(),
            architecture: "amd64".to_owned(),
            variant: String::new(),
            os_version: String::new(),
        }
    }

    /// Parses `os/arch[/variant]` and normalizes it the way containerd's
    /// `platforms.Parse` does for the common spellings: the OS is
    /// lower-cased, `x86_64`/`x86-64` are `amd64`, `aarch64` is `arm64` (its
    /// `v8` variant dropped), `armhf`/`armel` are `arm/v7`/`arm/v6`, a bare
    /// `arm` is `arm/v7`, `i386` is `386`. OS-only and arch-only forms are
    /// not accepted: the caller always knows both.
    pub fn parse(spec: &str) -> Result<Self, PlatformError> {
        let err = || PlatformError {
            spec: spec.to_owned(),
        };
        let parts: Vec<&str> = spec.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, ""),
            [os, arch, variant] => (*os, *arch, *variant),
            _ => return Err(err()),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        if !valid(os) || !valid(arch) || (parts.len() == 3 && !valid(variant)) {
            return Err(err());
        }
        let os = os.to_ascii_lowercase();
        let arch = arch.to_ascii_lowercase();
        let variant = variant.to_ascii_lowercase();
        let (architecture, variant) = match arch.as_str() {
            "x86_64" | "x86-64" | "amd64" => (
                "amd64",
                if variant == "v1" {
                    String::new()
                } else {
                    variant
                },
            ),
            "aarch64" | "arm64" => (
                "arm64",
                match variant.as_str() {
                    "8" | "v8" | "v8.0" => String::new(),
                    "9" | "9.0" | "v9.0" => "v9".to_owned(),
                    _ => variant,
                },
            ),
            "armhf" => ("arm", "v7".to_owned()),
            "armel" => ("arm", "v6".to_owned()),
            "arm" => (
                "arm",
                match variant.as_str() {
                    "" | "7" => "v7".to_owned(),
                    "5" | "6" | "8" => format!("v{variant}"),
                    _ => variant,
                },
            ),
            "i386" => ("386", String::new()),
            other => (other, variant),
        };
        Ok(Platform {
            os,
            architecture: architecture.to_owned(),
            variant,
            os_version: String::new(),
        })
    }

    /// `os/arch` or `os/arch/variant` (containerd's `platforms.Format`).
    pub fn format(&self) -> String {
        let mut out = format!("{}/{}", self.os, self.architecture);
        if !self.variant.is_empty() {
            out.push('/');
            out.push_str(&self.variant);
        }
        out
    }

    /// Like [`Platform::format`] with the OS version in parentheses after the
    /// OS when there is one (containerd's `platforms.FormatAll`).
    pub fn format_all(&self) -> String {
        if self.os_version.is_empty() {
            return self.format();
        }
        let mut p = self.clone();
        p.os = format!("{}({})", self.os, self.os_version);
        p.os_version.clear();
        p.format()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

/// What a build is given from outside the Dockerfile.
#[derive(Debug, Clone)]
pub struct ScopeOptions {
    /// `--build-arg NAME=VALUE` pairs.
    pub build_args: BTreeMap<String, String>,
    /// The platform the image is built for (`--platform`).
    pub target_platform: Platform,
    /// The platform of the builder. BuildKit uses the target platform when
    /// it is given and no build platform is; we never run a builder, so the
    /// caller decides.
    pub build_platform: Platform,
    /// The stage being built: `--target`, else the last stage's name.
    /// `None` or an empty name gives `TARGETSTAGE=default`, as in BuildKit.
    pub target_stage: Option<String>,
    /// The lexer with the Dockerfile's escape token.
    pub lexer: Lexer,
}

impl ScopeOptions {
    /// Options for a `linux/amd64` build with the given build args.
    pub fn new(lexer: Lexer, build_args: BTreeMap<String, String>) -> Self {
        ScopeOptions {
            build_args,
            target_platform: Platform::linux_amd64(),
            build_platform: Platform::linux_amd64(),
            target_stage: None,
            lexer,
        }
    }
}

/// Where an `ARG` got its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSource {
    /// A `--build-arg` of the same name (the default, if any, is not
    /// evaluated).
    BuildArg,
    /// The expanded default value of the `ARG`.
    Default,
    /// The global value, for a stage `ARG NAME` without default.
    Global,
    /// No value: the name is declared but unset.
    Unset,
}

/// One `ARG` as declared, with its resolved value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredArg {
    pub name: String,
    pub value: Option<String>,
    pub source: ArgSource,
}

/// The scope before the first `FROM`, shared by every stage.
#[derive(Debug, Clone)]
pub struct GlobalScope {
    lexer: Lexer,
    build_args: BTreeMap<String, String>,
    target_os: String,
    args: OrderedEnv,
    declared: Vec<DeclaredArg>,
}

impl GlobalScope {
    /// The global scope with BuildKit's predefined arguments, each replaced
    /// by a build arg of the same name when there is one.
    pub fn new(options: ScopeOptions) -> Self {
        let ScopeOptions {
            build_args,
            target_platform: tp,
            build_platform: bp,
            target_stage,
            lexer,
        } = options;
        let stage = target_stage
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let values: [String; 11] = [
            bp.format(),
            bp.os.clone(),
            bp.os_version.clone(),
            bp.architecture.clone(),
            bp.variant.clone(),
            tp.format_all(),
            tp.os.clone(),
            tp.os_version.clone(),
            tp.architecture.clone(),
            tp.variant.clone(),
            stage,
        ];
        let mut args = OrderedEnv::new();
        for (name, value) in PREDEFINED_ARGS.iter().zip(values.iter()) {
            let value = build_args.get(*name).unwrap_or(value);
            args.add_or_replace(name, value);
        }
        GlobalScope {
            lexer,
            build_args,
            target_os: tp.os,
            args,
            declared: Vec::new(),
        }
    }

    /// Declares a global `ARG` (one before the first `FROM`).
    ///
    /// The value is the build arg of that name when given (the default is
    /// then not evaluated), else the default expanded against the global
    /// scope so far, else none; a name without value keeps whatever the
    /// global scope already has (a predefined argument, say). Returns the
    /// value the declaration produced.
    pub fn declare_arg(
        &mut self,
        name: &str,
        default: Option<&str>,
    ) -> Result<Option<String>, LexError> {
        let (value, source) = match (self.build_args.get(name), default) {
            (Some(v), _) => (Some(v.clone()), ArgSource::BuildArg),
            (None, Some(d)) => {
                let expanded = self.lexer.process_word(d, &self.args)?;
                (Some(expanded), ArgSource::Default)
            }
            (None, None) => (None, ArgSource::Unset),
        };
        if let Some(v) = &value {
            self.args.add_or_replace(name, v);
        }
        self.declared.push(DeclaredArg {
            name: name.to_owned(),
            value: value.clone(),
            source,
        });
        Ok(value)
    }

    /// Expands a `FROM` word (the image reference or the `--platform`
    /// value) against the global scope. `unmatched` names the variables that
    /// were not defined (BuildKit's `UndefinedArgInFrom` lint).
    pub fn expand(&self, word: &str) -> Result<Expansion, LexError> {
        self.lexer.process(word, &self.args)
    }

    pub fn lookup(&self, name: &str) -> Option<&str> {
        self.args.get(name)
    }

    /// The global arguments with values, predefined ones first.
    pub fn args(&self) -> &OrderedEnv {
        &self.args
    }

    /// The global `ARG` declarations in order.
    pub fn declared_args(&self) -> &[DeclaredArg] {
        &self.declared
    }

    pub fn build_args(&self) -> &BTreeMap<String, String> {
        &self.build_args
    }

    pub fn lexer(&self) -> &Lexer {
        &self.lexer
    }

    /// The proxy build args, which BuildKit gives every `RUN` without an
    /// `ARG` (sorted by name as given).
    pub fn proxy_args(&self) -> Vec<(&str, &str)> {
        self.build_args
            .iter()
            .filter(|(k, _)| is_proxy_arg(k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Build args that nothing consumed, sorted: not declared by a global
    /// `ARG` or by an `ARG` in any of `stages`, and not one BuildKit uses
    /// itself (predefined platform arguments, proxy arguments, `BUILDKIT_*`
    /// frontend options, `SOURCE_DATE_EPOCH`).
    ///
    /// BuildKit itself prints nothing for these; the classic builder warned
    /// with [`unused_build_args_warning`]'s text, which is worth keeping
    /// because a misspelled build arg otherwise changes the image silently.
    pub fn unused_build_args<'a, I>(&self, stages: I) -> Vec<String>
    where
        I: IntoIterator<Item = &'a StageScope>,
    {
        let mut consumed: BTreeSet<&str> = self.declared.iter().map(|a| a.name.as_str()).collect();
        for stage in stages {
            consumed.extend(stage.args.iter().map(|a| a.name.as_str()));
        }
        self.build_args
            .keys()
            .filter(|k| {
                !consumed.contains(k.as_str())
                    && !PREDEFINED_ARGS.contains(&k.as_str())
                    && !is_proxy_arg(k)
                    && !k.starts_with("BUILDKIT_")
                    && k.as_str() != "SOURCE_DATE_EPOCH"
            })
            .cloned()
            .collect()
    }
}

impl Env for GlobalScope {
    fn get(&self, name: &str) -> Option<&str> {
        self.args.get(name)
    }
}

/// The classic builder's warning for build args nothing consumed, or `None`
/// when there are none: `[Warning] One or more build-args [A B] were not
/// consumed`.
pub fn unused_build_args_warning(unused: &[String]) -> Option<String> {
    if unused.is_empty() {
        None
    } else {
        Some(format!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        ))
    }
}

/// True for the proxy build args, in any case.
pub fn is_proxy_arg(name: &str) -> bool {
    PROXY_ARGS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// The scope of one stage.
#[derive(Debug, Clone)]
pub struct StageScope {
    global: Arc<GlobalScope>,
    /// The build environment: what words expand against and what `RUN`
    /// sees (BuildKit's LLB state env).
    env: OrderedEnv,
    /// The image config's `Env`: the base's variables and `ENV`s.
    image_env: OrderedEnv,
    /// `ARG`s declared in this stage and in the stages it is built from
    /// (BuildKit's `buildArgs`, the `|N K=V` prefix of RUN history lines).
    args: Vec<DeclaredArg>,
}

impl StageScope {
    /// A stage `FROM` an image whose config has the given `Env` entries
    /// (`KEY=VALUE`). A `PATH` is added to the config when the image has
    /// none and the target OS is not Windows, as BuildKit does.
    pub fn from_image<I, S>(global: Arc<GlobalScope>, image_env: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // A base image whose Env repeats a name (malformed, but possible)
        // gets one entry, at the first position, with the last value. The
        // build environment takes the last value as BuildKit's does; the
        // config differs from BuildKit's, which would keep both entries.
        let mut config = OrderedEnv::new();
        for entry in image_env {
            let entry = entry.as_ref();
            let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
            config.set_in_place(k, v);
        }
        Self::with_base(global, OrderedEnv::new(), config, Vec::new())
    }

    /// A stage `FROM scratch` (whose config has only BuildKit's `PATH`).
    pub fn from_scratch(global: Arc<GlobalScope>) -> Self {
        Self::from_image(global, std::iter::empty::<&str>())
    }

    /// A stage `FROM` an earlier stage (stage names match without regard to
    /// case; finding the parent is the caller's job): it inherits the parent's build
    /// environment (ENVs and ARG values), config `Env` and declared `ARG`s;
    /// the config `Env` is then applied over the environment again.
    pub fn from_stage(parent: &StageScope) -> Self {
        Self::with_base(
            Arc::clone(&parent.global),
            parent.env.clone(),
            parent.image_env.clone(),
            parent.args.clone(),
        )
    }

    fn with_base(
        global: Arc<GlobalScope>,
        mut env: OrderedEnv,
        mut image_env: OrderedEnv,
        args: Vec<DeclaredArg>,
    ) -> Self {
        if !image_env.contains("PATH") && global.target_os != "windows" {
            image_env.set_in_place("PATH", DEFAULT_PATH);
        }
        for (k, v) in image_env.iter() {
            env.add_or_replace(k, v);
        }
        StageScope {
            global,
            env,
            image_env,
            args,
        }
    }

    /// Declares `ARG name[=default]` in this stage and returns its value.
    ///
    /// The value is the build arg of that name if given (the default is then
    /// not evaluated), else the default expanded against this stage, else
    /// the global value (a global `ARG` or a predefined argument) — which
    /// is how a global becomes visible in a stage — else none. A value
    /// enters the stage's environment, replacing any variable of that name,
    /// except for [`NON_ENV_ARGS`]. The name itself is never expanded.
    pub fn declare_arg(
        &mut self,
        name: &str,
        default: Option<&str>,
    ) -> Result<Option<String>, LexError> {
        let (value, source) = match (self.global.build_args.get(name), default) {
            (Some(v), _) => (Some(v.clone()), ArgSource::BuildArg),
            (None, Some(d)) => {
                let expanded = self.global.lexer.process_word(d, &self.env)?;
                (Some(expanded), ArgSource::Default)
            }
            (None, None) => match self.global.lookup(name) {
                Some(v) => (Some(v.to_owned()), ArgSource::Global),
                None => (None, ArgSource::Unset),
            },
        };
        if let Some(v) = value.as_deref().filter(|_| !NON_ENV_ARGS.contains(&name)) {
            self.env.add_or_replace(name, v);
        }
        self.args.push(DeclaredArg {
            name: name.to_owned(),
            value: value.clone(),
            source,
        });
        Ok(value)
    }

    /// Applies `ENV name=value` (value already expanded): it shadows any
    /// `ARG` of that name from here on and goes into the image config.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.add_or_replace(name, value);
        self.image_env.set_in_place(name, value);
    }

    /// The value a word in this stage sees for `name`.
    pub fn lookup(&self, name: &str) -> Option<&str> {
        self.env.get(name)
    }

    /// Expands a word of an instruction in this stage.
    pub fn expand(&self, word: &str) -> Result<Expansion, LexError> {
        self.global.lexer.process(word, &self.env)
    }

    /// Expands with a different lexer (the heredoc lexer, say) against this
    /// stage.
    pub fn expand_with(&self, lexer: &Lexer, word: &str) -> Result<Expansion, LexError> {
        lexer.process(word, &self.env)
    }

    /// The build environment, in order.
    pub fn env(&self) -> &OrderedEnv {
        &self.env
    }

    /// The image config's `Env`, in order: what the built image carries.
    pub fn image_env(&self) -> &OrderedEnv {
        &self.image_env
    }

    /// `ARG`s declared in this stage and inherited from parent stages, in
    /// order (a name may appear more than once).
    pub fn args(&self) -> &[DeclaredArg] {
        &self.args
    }

    pub fn global(&self) -> &Arc<GlobalScope> {
        &self.global
    }
}

impl Env for StageScope {
    fn get(&self, name: &str) -> Option<&str> {
        self.env.get(name)
    }
}

/// Which variables an instruction's words are expanded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpansionScope {
    /// Global arguments only ([`GlobalScope::expand`]): `FROM`, and
    /// global `ARG` defaults.
    Global,
    /// The stage's environment ([`StageScope::expand`]).
    Stage,
    /// Nothing is expanded.
    None,
}

/// A part of an instruction whose words are expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpandedPart {
    /// `FROM`: the image reference (before `AS`; the stage name is not
    /// expanded). An empty result is BuildKit's `base name (%s) should not
    /// be blank`.
    BaseName,
    /// Every argument, each as one word.
    EachArgument,
    /// `EXPOSE`: every argument, each split into words after expansion
    /// ([`Lexer::process_words`]).
    EachArgumentSplit,
    /// `ENV`, `LABEL`: the key and the value of every pair.
    KeysAndValues,
    /// `ARG`: the default value, and only when no build arg gives the value.
    /// Never the name.
    ArgDefault,
    /// `COPY`, `ADD`: every source and the destination.
    SourcesAndDest,
    /// The value of the named flag.
    Flag(&'static str),
    /// `RUN --mount`: the value of every `key=value` field (the CSV is split
    /// first, then each value expanded).
    MountFieldValues,
    /// `COPY`, `ADD`: heredoc bodies whose delimiter is not quoted, with
    /// [`Lexer::for_heredoc`] (escape `\`, quotes left alone).
    HeredocBodies,
}

/// A place where BuildKit refuses variables instead of expanding them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariableRefusal {
    /// The flag (`from` for `COPY --from`, `mount` for `RUN --mount`).
    pub flag: &'static str,
    /// For `RUN --mount`, the CSV field (`from`).
    pub field: Option<&'static str>,
    /// How BuildKit detects a variable.
    pub detect: RefusalCheck,
    /// BuildKit's error message.
    pub message: &'static str,
}

/// How a [`VariableRefusal`] recognises a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCheck {
    /// The value changes when expanded against no variables at all
    /// ([`crate::dockerfile::lex::NoEnv`]) — which also catches quotes and
    /// escapes.
    ChangesWhenExpanded,
    /// The value contains `$` followed by any character but a newline.
    DollarFollowedByAnything,
}

impl VariableRefusal {
    /// True when BuildKit would refuse `value` with [`Self::message`].
    pub fn refuses(&self, lexer: &Lexer, value: &str) -> bool {
        match self.detect {
            RefusalCheck::ChangesWhenExpanded => {
                match lexer.process_word(value, &crate::dockerfile::lex::NoEnv) {
                    Ok(expanded) => expanded != value,
                    // BuildKit returns the lexer's error itself.
                    Err(_) => true,
                }
            }
            RefusalCheck::DollarFollowedByAnything => {
                let mut chars = value.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '$' && chars.peek().is_some_and(|&n| n != '\n') {
                        return true;
                    }
                }
                false
            }
        }
    }
}

/// How BuildKit treats variables in one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstructionExpansion {
    /// The instruction keyword, upper case.
    pub instruction: &'static str,
    pub scope: ExpansionScope,
    /// The parts whose words are expanded; empty when none are.
    pub expands: &'static [ExpandedPart],
    /// Flags where variables are an error.
    pub refuses: &'static [VariableRefusal],
}

impl InstructionExpansion {
    /// True when the value of `--flag` is expanded.
    pub fn expands_flag(&self, flag: &str) -> bool {
        self.expands
            .iter()
            .any(|p| matches!(p, ExpandedPart::Flag(f) if f.eq_ignore_ascii_case(flag)))
    }

    pub fn expands(&self, part: ExpandedPart) -> bool {
        self.expands.contains(&part)
    }
}

const COPY_FROM_REFUSAL: VariableRefusal = VariableRefusal {
    flag: "from",
    field: None,
    detect: RefusalCheck::ChangesWhenExpanded,
    message: "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
};

const MOUNT_FROM_REFUSAL: VariableRefusal = VariableRefusal {
    flag: "mount",
    field: Some("from"),
    detect: RefusalCheck::DollarFollowedByAnything,
    message: "'from' doesn't support variable expansion, define alias stage instead",
};

/// Which words BuildKit expands, per instruction, checked against BuildKit's
/// `instructions/commands.go` (`Expand`/`ExpandRaw` methods),
/// `commands_runmount.go` and `dockerfile2llb` (`FROM`, `ARG`, `EXPOSE`,
/// `COPY --from`):
///
/// * `FROM`: image reference and `--platform`, against global args.
/// * `ARG`: the default only (global defaults against global args, stage
///   defaults against the stage).
/// * `ENV`, `LABEL`: keys and values. `WORKDIR`, `USER`, `STOPSIGNAL`,
///   `VOLUME`: each argument. `EXPOSE`: each argument, re-split.
/// * `COPY`: sources, destination, `--chown`, `--chmod` (since BuildKit
///   0.16), unquoted heredoc bodies; `--from` refuses variables; `--exclude`,
///   `--parents`, `--link` are not expanded.
/// * `ADD`: as `COPY` plus `--checksum`; no `--from`; `--exclude`,
///   `--keep-git-dir`, `--unpack`, `--link` are not expanded.
/// * `RUN`: only the values of `--mount` fields (`from=` refuses
///   variables); never the command, `--network`, `--security` or
///   `--device`. RUN heredocs are never expanded by BuildKit (the shell
///   does it).
/// * `CMD`, `ENTRYPOINT`, `SHELL`, `HEALTHCHECK`, `MAINTAINER`, `ONBUILD`:
///   nothing (an `ONBUILD` trigger is expanded when it runs in a child
///   stage, by the rules of its own instruction).
pub const INSTRUCTION_EXPANSIONS: &[InstructionExpansion] = &[
    InstructionExpansion {
        instruction: "ADD",
        scope: ExpansionScope::Stage,
        expands: &[
            ExpandedPart::SourcesAndDest,
            ExpandedPart::Flag("chown"),
            ExpandedPart::Flag("chmod"),
            ExpandedPart::Flag("checksum"),
            ExpandedPart::HeredocBodies,
        ],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "ARG",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::ArgDefault],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "CMD",
        scope: ExpansionScope::None,
        expands: &[],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "COPY",
        scope: ExpansionScope::Stage,
        expands: &[
            ExpandedPart::SourcesAndDest,
            ExpandedPart::Flag("chown"),
            ExpandedPart::Flag("chmod"),
            ExpandedPart::HeredocBodies,
        ],
        refuses: &[COPY_FROM_REFUSAL],
    },
    InstructionExpansion {
        instruction: "ENTRYPOINT",
        scope: ExpansionScope::None,
        expands: &[],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "ENV",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::KeysAndValues],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "EXPOSE",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::EachArgumentSplit],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "FROM",
        scope: ExpansionScope::Global,
        expands: &[ExpandedPart::BaseName, ExpandedPart::Flag("platform")],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "HEALTHCHECK",
        scope: ExpansionScope::None,
        expands: &[],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "LABEL",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::KeysAndValues],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "MAINTAINER",
        scope: ExpansionScope::None,
        expands: &[],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "ONBUILD",
        scope: ExpansionScope::None,
        expands: &[],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "RUN",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::MountFieldValues],
        refuses: &[MOUNT_FROM_REFUSAL],
    },
    InstructionExpansion {
        instruction: "SHELL",
        scope: ExpansionScope::None,
        expands: &[],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "STOPSIGNAL",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::EachArgument],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "USER",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::EachArgument],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "VOLUME",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::EachArgument],
        refuses: &[],
    },
    InstructionExpansion {
        instruction: "WORKDIR",
        scope: ExpansionScope::Stage,
        expands: &[ExpandedPart::EachArgument],
        refuses: &[],
    },
];

/// The expansion rules for an instruction keyword (any case), or `None`
/// for a keyword BuildKit does not know.
pub fn instruction_expansion(keyword: &str) -> Option<&'static InstructionExpansion> {
    INSTRUCTION_EXPANSIONS
        .iter()
        .find(|e| e.instruction.eq_ignore_ascii_case(keyword))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global_with(build_args: &[(&str, &str)]) -> GlobalScope {
        let args = build_args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GlobalScope::new(ScopeOptions::new(Lexer::new('\\'), args))
    }

    #[test]
    fn predefined_args_come_from_the_platforms() {
        let mut options = ScopeOptions::new(Lexer::new('\\'), BTreeMap::new());
        options.target_platform = Platform::parse("linux/arm").unwrap();
        options.target_stage = Some("final".to_owned());
        let global = GlobalScope::new(options);
        assert_eq!(global.lookup("TARGETPLATFORM"), Some("linux/arm/v7"));
        assert_eq!(global.lookup("TARGETOS"), Some("linux"));
        assert_eq!(global.lookup("TARGETARCH"), Some("arm"));
        assert_eq!(global.lookup("TARGETVARIANT"), Some("v7"));
        assert_eq!(global.lookup("BUILDPLATFORM"), Some("linux/amd64"));
        assert_eq!(global.lookup("BUILDVARIANT"), Some(""));
        assert_eq!(global.lookup("TARGETSTAGE"), Some("final"));
        let default = global_with(&[]);
        assert_eq!(default.lookup("TARGETPLATFORM"), Some("linux/amd64"));
        assert_eq!(default.lookup("TARGETSTAGE"), Some("default"));
    }

    #[test]
    fn build_args_override_predefined_args() {
        let global = global_with(&[("TARGETARCH", "riscv64")]);
        assert_eq!(global.lookup("TARGETARCH"), Some("riscv64"));
        assert_eq!(global.lookup("TARGETPLATFORM"), Some("linux/amd64"));
    }

    #[test]
    fn platform_parsing_normalizes() {
        let p = |s: &str| Platform::parse(s).unwrap().format();
        assert_eq!(p("linux/x86_64"), "linux/amd64");
        assert_eq!(p("Linux/aarch64/v8"), "linux/arm64");
        assert_eq!(p("linux/armhf"), "linux/arm/v7");
        assert_eq!(p("linux/arm/6"), "linux/arm/v6");
        assert_eq!(p("linux/i386"), "linux/386");
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v7").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
    }

    #[test]
    fn global_arg_is_not_visible_in_a_stage_until_redeclared() {
        let mut global = global_with(&[]);
        assert_eq!(
            global
                .declare_arg("VERSION", Some("1.0"))
                .unwrap()
                .as_deref(),
            Some("1.0")
        );
        assert_eq!(global.expand("app:$VERSION").unwrap().result, "app:1.0");
        let global = Arc::new(global);
        let mut stage = StageScope::from_image(Arc::clone(&global), ["HOME=/root"]);
        assert_eq!(stage.lookup("VERSION"), None);
        assert_eq!(stage.expand("v$VERSION").unwrap().result, "v");
        assert_eq!(
            stage.lookup("TARGETARCH"),
            None,
            "predefined args need ARG too"
        );
        assert_eq!(
            stage.declare_arg("VERSION", None).unwrap().as_deref(),
            Some("1.0")
        );
        assert_eq!(stage.expand("v$VERSION").unwrap().result, "v1.0");
        assert_eq!(
            stage.declare_arg("TARGETARCH", None).unwrap().as_deref(),
            Some("amd64")
        );
        assert_eq!(stage.args()[0].source, ArgSource::Global);
        // Declared in a stage, never in the image config.
        assert_eq!(stage.image_env().get("VERSION"), None);
    }

    #[test]
    fn arg_value_precedence_build_arg_then_default_then_global() {
        let mut global = global_with(&[("A", "from-cli")]);
        global.declare_arg("A", Some("global-default")).unwrap();
        global.declare_arg("B", Some("global-b")).unwrap();
        let global = Arc::new(global);
        assert_eq!(global.lookup("A"), Some("from-cli"));
        let mut stage = StageScope::from_scratch(global);
        // A build arg beats the default, which is then not even evaluated.
        assert_eq!(
            stage
                .declare_arg("A", Some("${UNSET:?must not run}"))
                .unwrap()
                .as_deref(),
            Some("from-cli")
        );
        // A stage default beats the global value.
        assert_eq!(
            stage.declare_arg("B", Some("stage-b")).unwrap().as_deref(),
            Some("stage-b")
        );
        // Without build arg, default or global value the ARG is unset.
        assert_eq!(stage.declare_arg("C", None).unwrap(), None);
        assert_eq!(stage.lookup("C"), None);
        assert_eq!(
            stage.args().iter().map(|a| a.source).collect::<Vec<_>>(),
            [ArgSource::BuildArg, ArgSource::Default, ArgSource::Unset]
        );
        let err = stage
            .declare_arg("D", Some("${UNSET:?needed}"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"failed to process "${UNSET:?needed}": UNSET: needed"#
        );
    }

    #[test]
    fn global_defaults_expand_against_earlier_globals_only() {
        let mut global = global_with(&[]);
        global.declare_arg("BASE", Some("debian")).unwrap();
        global
            .declare_arg("IMAGE", Some("${BASE}:${TAG:-12}-$TARGETARCH"))
            .unwrap();
        global.declare_arg("TAG", Some("13")).unwrap();
        assert_eq!(global.lookup("IMAGE"), Some("debian:12-amd64"));
        let from = global.expand("$IMAGE AS $TAG").unwrap();
        assert_eq!(from.result, "debian:12-amd64 AS 13");
        let from = global.expand("${MISSING}img").unwrap();
        assert!(from.unmatched.contains("MISSING"));
        // A global ARG without value keeps a predefined value.
        assert_eq!(global.declare_arg("TARGETOS", None).unwrap(), None);
        assert_eq!(global.lookup("TARGETOS"), Some("linux"));
    }

    #[test]
    fn stage_defaults_see_env_but_not_globals() {
        let mut global = global_with(&[]);
        global.declare_arg("G", Some("global")).unwrap();
        let mut stage = StageScope::from_image(Arc::new(global), ["BASE=/opt"]);
        assert_eq!(
            stage
                .declare_arg("DIR", Some("$BASE/app-${G:-none}"))
                .unwrap()
                .as_deref(),
            Some("/opt/app-none")
        );
    }

    #[test]
    fn env_shadows_an_earlier_arg_and_a_later_arg_replaces_env() {
        let global = Arc::new(global_with(&[("V", "cli")]));
        let mut stage = StageScope::from_image(global, ["V=image"]);
        assert_eq!(stage.lookup("V"), Some("image"));
        // ARG after an inherited ENV: BuildKit uses the ARG's value.
        stage.declare_arg("V", None).unwrap();
        assert_eq!(stage.lookup("V"), Some("cli"));
        // ENV after ARG shadows it.
        stage.set_env("V", "env");
        assert_eq!(stage.expand("$V").unwrap().result, "env");
        assert_eq!(stage.image_env().get("V"), Some("env"));
        // And an ARG after that ENV wins again, in lookups only.
        stage.declare_arg("V", Some("later")).unwrap();
        assert_eq!(stage.lookup("V"), Some("cli"));
        assert_eq!(stage.image_env().get("V"), Some("env"));
    }

    #[test]
    fn stage_inherits_env_and_args_from_its_parent_stage() {
        let mut global = global_with(&[]);
        global.declare_arg("G", Some("g")).unwrap();
        let global = Arc::new(global);
        let mut parent = StageScope::from_image(Arc::clone(&global), ["PATH=/bin", "HOME=/root"]);
        parent.set_env("APP", "/app");
        parent.declare_arg("MODE", Some("release")).unwrap();
        parent.declare_arg("HOME", Some("/arg-home")).unwrap();
        let mut child = StageScope::from_stage(&parent);
        assert_eq!(child.lookup("APP"), Some("/app"));
        assert_eq!(
            child.lookup("MODE"),
            Some("release"),
            "parent ARGs are inherited"
        );
        // The parent's config Env is re-applied over the inherited
        // environment: its ENV beats the parent's later ARG of the same name.
        assert_eq!(parent.lookup("HOME"), Some("/arg-home"));
        assert_eq!(child.lookup("HOME"), Some("/root"));
        assert_eq!(child.lookup("G"), None, "globals still need ARG");
        assert_eq!(child.args().len(), 2);
        child.set_env("APP", "/srv");
        assert_eq!(
            parent.lookup("APP"),
            Some("/app"),
            "the parent is unchanged"
        );
        // A sibling stage from an image sees none of it.
        let other = StageScope::from_scratch(global);
        assert_eq!(other.lookup("APP"), None);
        assert_eq!(other.lookup("MODE"), None);
    }

    #[test]
    fn path_is_added_when_the_image_has_none() {
        let global = Arc::new(global_with(&[]));
        let scratch = StageScope::from_scratch(Arc::clone(&global));
        assert_eq!(scratch.lookup("PATH"), Some(DEFAULT_PATH));
        assert_eq!(
            scratch.image_env().to_entries(),
            [format!("PATH={DEFAULT_PATH}")]
        );
        let image = StageScope::from_image(global, ["PATH=/custom", "A=1", "A=2"]);
        assert_eq!(image.lookup("PATH"), Some("/custom"));
        assert_eq!(image.image_env().to_entries(), ["PATH=/custom", "A=2"]);
    }

    #[test]
    fn non_env_args_stay_out_of_the_environment() {
        let global = Arc::new(global_with(&[("BUILDKIT_SBOM_SCAN_STAGE", "true")]));
        let mut stage = StageScope::from_scratch(global);
        let v = stage.declare_arg("BUILDKIT_SBOM_SCAN_STAGE", None).unwrap();
        assert_eq!(v.as_deref(), Some("true"));
        assert_eq!(stage.lookup("BUILDKIT_SBOM_SCAN_STAGE"), None);
    }

    #[test]
    fn unused_build_args_are_reported() {
        let mut global = global_with(&[
            ("USED_GLOBAL", "1"),
            ("USED_STAGE", "1"),
            ("TYPO", "1"),
            ("http_proxy", "p"),
            ("TARGETARCH", "arm64"),
            ("BUILDKIT_INLINE_CACHE", "1"),
            ("ANOTHER", "1"),
        ]);
        global.declare_arg("USED_GLOBAL", None).unwrap();
        let global = Arc::new(global);
        let mut stage = StageScope::from_scratch(Arc::clone(&global));
        stage.declare_arg("USED_STAGE", None).unwrap();
        let unused = global.unused_build_args([&stage]);
        assert_eq!(unused, ["ANOTHER", "TYPO"]);
        assert_eq!(
            unused_build_args_warning(&unused).as_deref(),
            Some("[Warning] One or more build-args [ANOTHER TYPO] were not consumed")
        );
        assert_eq!(global.unused_build_args([]).len(), 3);
        assert_eq!(global.proxy_args(), [("http_proxy", "p")]);
        // Proxy args are not expansion variables.
        assert_eq!(stage.lookup("http_proxy"), None);
    }

    #[test]
    fn ordered_env_update_rules() {
        let mut env = OrderedEnv::from_entries(["A=1", "B=2", "C"]);
        env.add_or_replace("A", "3");
        assert_eq!(env.to_entries(), ["B=2", "C=", "A=3"]);
        env.set_in_place("B", "4");
        env.set_in_place("D", "5");
        assert_eq!(env.to_entries(), ["B=4", "C=", "A=3", "D=5"]);
        assert_eq!(env.keys().collect::<Vec<_>>(), ["B", "C", "A", "D"]);
        assert_eq!(env.len(), 4);
    }

    #[test]
    fn expansion_table_covers_every_instruction_once() {
        let keywords = [
            "ADD",
            "ARG",
            "CMD",
            "COPY",
            "ENTRYPOINT",
            "ENV",
            "EXPOSE",
            "FROM",
            "HEALTHCHECK",
            "LABEL",
            "MAINTAINER",
            "ONBUILD",
            "RUN",
            "SHELL",
            "STOPSIGNAL",
            "USER",
            "VOLUME",
            "WORKDIR",
        ];
        assert_eq!(INSTRUCTION_EXPANSIONS.len(), keywords.len());
        for k in keywords {
            assert_eq!(instruction_expansion(k).map(|e| e.instruction), Some(k));
        }
        assert!(instruction_expansion("copy").unwrap().expands_flag("chmod"));
        assert!(!instruction_expansion("COPY").unwrap().expands_flag("from"));
        assert!(
            !instruction_expansion("COPY")
                .unwrap()
                .expands_flag("exclude")
        );
        assert!(
            instruction_expansion("ADD")
                .unwrap()
                .expands_flag("checksum")
        );
        assert!(
            instruction_expansion("RUN")
                .unwrap()
                .expands(ExpandedPart::MountFieldValues)
        );
        for none in [
            "CMD",
            "ENTRYPOINT",
            "SHELL",
            "HEALTHCHECK",
            "MAINTAINER",
            "ONBUILD",
        ] {
            let e = instruction_expansion(none).unwrap();
            assert!(
                e.expands.is_empty() && e.scope == ExpansionScope::None,
                "{none}"
            );
        }
        assert_eq!(
            instruction_expansion("FROM").unwrap().scope,
            ExpansionScope::Global
        );
        assert!(instruction_expansion("FROBNICATE").is_none());
    }

    #[test]
    fn variable_refusals_detect_like_buildkit() {
        let lexer = Lexer::new('\\');
        let copy_from = instruction_expansion("COPY").unwrap().refuses[0];
        assert!(!copy_from.refuses(&lexer, "builder"));
        assert!(copy_from.refuses(&lexer, "$STAGE"));
        assert!(copy_from.refuses(&lexer, "\"builder\""));
        assert!(!copy_from.refuses(&lexer, "a$"));
        let mount_from = instruction_expansion("RUN").unwrap().refuses[0];
        assert_eq!(mount_from.field, Some("from"));
        assert!(mount_from.refuses(&lexer, "x$y"));
        assert!(mount_from.refuses(&lexer, "$$"));
        assert!(!mount_from.refuses(&lexer, "stage$"));
        assert!(!mount_from.refuses(&lexer, "stage$\n"));
    }
}
