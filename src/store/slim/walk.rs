//! The reachability walk (see the module documentation of `slim` for the
//! policy it implements).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::tree::{EntryKind, FileSource, ImagePath, TreeEntry};

use super::elf::{self, ElfInfo, Inspection};
use super::rules::{self, DlopenRule, FileRule, UNREACHABLE_PACKAGE};
use super::view::{self, LibraryHit, Owner, SearchSource, View};
use super::{
    Edge, KeepReason, Ldd, LddEntry, Reach, RequestedPolicy, Roots, SlimConfig, SlimError,
    SlimPackage, SlimWarning, Step, chain,
};

/// Docker's default `PATH`.
const DEFAULT_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Hard links to hard links are followed this deep.
const MAX_HARDLINK_HOPS: usize = 8;

/// The item may override a file rule.
const STRONG: u8 = 1;
/// Symlinks are followed, the last component's too.
const LINKS: u8 = 2;
/// A script is run: its interpreter is needed.
const RUN: u8 = 4;

#[derive(Debug)]
enum Task {
    /// A path reached by an edge.
    Reach {
        path: ImagePath,
        edge: Edge,
        from: Option<ImagePath>,
        flags: u8,
    },
    /// A file of a kept package or of the image: follow its ELF needs.
    Scan { owner: Owner, path: ImagePath },
}

type LibraryKey = (String, Vec<(SearchSource, String)>, bool, bool, u16);

pub(crate) struct Walk<'a> {
    pub view: View<'a>,
    pub packages: &'a [SlimPackage],
    pub roots: &'a Roots,
    pub config: &'a SlimConfig,
    pub file_rules: Vec<FileRule>,
    dlopen: Vec<&'static DlopenRule>,
    path_env: Vec<String>,
    ld_so_conf: Vec<String>,
    has_ld_so_cache: bool,
    index: BTreeMap<&'a str, usize>,
    /// Per package: the files a rule drops (path -> rule index). Entries
    /// are removed when something needs the file.
    pub rule_drops: Vec<BTreeMap<ImagePath, usize>>,
    /// (package, path) -> (rule index, chain) of overridden drops.
    pub overrides: BTreeMap<(usize, ImagePath), (usize, Vec<Step>)>,
    pub kept: Vec<Option<KeepReason>>,
    /// How each path was first reached.
    via: BTreeMap<ImagePath, Reach>,
    seen: BTreeMap<ImagePath, u8>,
    scanned: BTreeSet<(Owner, ImagePath)>,
    followed_scripts: BTreeSet<ImagePath>,
    inspections: BTreeMap<(Owner, ImagePath), Inspection>,
    libraries: BTreeMap<LibraryKey, Option<LibraryHit>>,
    fired: BTreeSet<(usize, String)>,
    queue: VecDeque<Task>,
    pub warnings: Vec<SlimWarning>,
}

impl<'a> Walk<'a> {
    pub fn new(
        packages: &'a [SlimPackage],
        roots: &'a Roots,
        config: &'a SlimConfig,
        file_rules: Vec<FileRule>,
    ) -> Self {
        let view = View::new(
            &roots.image_files,
            packages.iter().map(|p| &p.tree).collect(),
        );
        let path_env = if roots.path_env.is_empty() {
            DEFAULT_PATH.iter().map(|s| s.to_string()).collect()
        } else {
            roots.path_env.clone()
        };
        let index = packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        let rule_drops = packages
            .iter()
            .map(|p| {
                if roots.keep_whole_packages.contains(&p.name) {
                    return BTreeMap::new();
                }
                p.tree
                    .entries
                    .iter()
                    .filter(|(_, e)| !matches!(e.kind, EntryKind::Dir))
                    .filter_map(|(path, _)| {
                        file_rules
                            .iter()
                            .position(|r| r.matches(path.as_str()))
                            .map(|i| (path.clone(), i))
                    })
                    .collect()
            })
            .collect();
        let has_ld_so_cache = view.exists("etc/ld.so.cache");
        let mut walk = Walk {
            view,
            packages,
            roots,
            config,
            file_rules,
            dlopen: rules::dlopen_rules(&config.disabled_rules),
            path_env,
            ld_so_conf: Vec::new(),
            has_ld_so_cache,
            index,
            rule_drops,
            overrides: BTreeMap::new(),
            kept: vec![None; packages.len()],
            via: BTreeMap::new(),
            seen: BTreeMap::new(),
            scanned: BTreeSet::new(),
            followed_scripts: BTreeSet::new(),
            inspections: BTreeMap::new(),
            libraries: BTreeMap::new(),
            fired: BTreeSet::new(),
            queue: VecDeque::new(),
            warnings: Vec::new(),
        };
        walk.ld_so_conf = walk.read_ld_so_conf();
        walk
    }

    pub fn run(&mut self) -> Result<(), SlimError> {
        self.seed();
        self.drain()?;
        // Packages without ELF files that kept packages depend on, until
        // nothing changes (a data package's files can trigger dlopen edges).
        loop {
            let mut added = Vec::new();
            for (i, p) in self.packages.iter().enumerate() {
                if self.kept[i].is_none() {
                    continue;
                }
                for dep in &p.depends {
                    let Some(&j) = self.index.get(dep.as_str()) else {
                        continue;
                    };
                    if self.kept[j].is_none()
                        && !added.iter().any(|(k, _)| *k == j)
                        && !self.has_elf(j)?
                    {
                        added.push((j, p.name.clone()));
                    }
                }
            }
            if added.is_empty() {
                return Ok(());
            }
            for (j, of) in added {
                self.keep(j, KeepReason::DataDependency { of });
            }
            self.drain()?;
        }
    }

    fn seed(&mut self) {
        let roots = self.roots;
        if self.config.disabled_rules.contains(UNREACHABLE_PACKAGE) {
            for i in 0..self.packages.len() {
                self.keep(i, KeepReason::PruningDisabled);
            }
        }
        for name in &roots.keep_whole_packages {
            match self.index.get(name.as_str()) {
                Some(&i) => self.keep(i, KeepReason::KeepWhole),
                None => self.warnings.push(SlimWarning::UnknownPackage {
                    name: name.clone(),
                    role: "keep-whole".into(),
                }),
            }
        }
        if self.config.requested == RequestedPolicy::Keep {
            for name in &roots.requested_packages {
                match self.index.get(name.as_str()) {
                    Some(&i) => self.keep(i, KeepReason::Requested),
                    None => self.warnings.push(SlimWarning::UnknownPackage {
                        name: name.clone(),
                        role: "requested".into(),
                    }),
                }
            }
        }
        for (path, entry) in &roots.image_files.entries {
            if !matches!(entry.kind, EntryKind::Dir) {
                self.set_via(path, Edge::ImageFile, None);
                self.queue.push_back(Task::Scan {
                    owner: Owner::Image,
                    path: path.clone(),
                });
            }
        }
        for (index, argv) in roots.commands.iter().enumerate() {
            let Some(program) = argv.first() else {
                continue;
            };
            match self.find_program(program) {
                Some(path) => self.push(path, Edge::Command { index }, None, STRONG | LINKS | RUN),
                None => self.warnings.push(SlimWarning::Unresolved {
                    what: program.clone(),
                    edge: Edge::Command { index },
                    from: None,
                }),
            }
            for arg in argv.iter().skip(1) {
                let candidate = match arg.split_once('=') {
                    Some((_, value)) if value.starts_with('/') => value,
                    _ => arg.as_str(),
                };
                if !candidate.starts_with('/') {
                    continue;
                }
                if let Ok(path) = ImagePath::new(candidate)
                    && self.view.resolve(&path, true).target.is_some()
                {
                    self.push(path, Edge::Argument { index }, None, STRONG | LINKS);
                }
            }
        }
        for path in &roots.paths {
            self.push(path.clone(), Edge::RootPath, None, STRONG | LINKS);
        }
    }

    fn push(&mut self, path: ImagePath, edge: Edge, from: Option<ImagePath>, flags: u8) {
        self.queue.push_back(Task::Reach {
            path,
            edge,
            from,
            flags,
        });
    }

    fn drain(&mut self) -> Result<(), SlimError> {
        while let Some(task) = self.queue.pop_front() {
            match task {
                Task::Reach {
                    path,
                    edge,
                    from,
                    flags,
                } => self.reach(path, edge, from, flags)?,
                Task::Scan { owner, path } => self.scan(owner, &path, 0)?,
            }
        }
        Ok(())
    }

    fn reach(
        &mut self,
        path: ImagePath,
        edge: Edge,
        from: Option<ImagePath>,
        flags: u8,
    ) -> Result<(), SlimError> {
        let prev = self.seen.get(&path).copied().unwrap_or(0);
        if flags & !prev == 0 && self.seen.contains_key(&path) {
            return Ok(());
        }
        self.seen.insert(path.clone(), prev | flags);
        self.set_via(&path, edge.clone(), from.clone());

        let resolved = self.view.resolve(&path, flags & LINKS != 0);
        let mut previous = path.clone();
        for (k, link) in resolved.links.iter().enumerate() {
            if *link != previous {
                // The first link differs from the path only through a
                // merged-usr alias or a symlinked parent directory.
                let edge = if k == 0 { Edge::Alias } else { Edge::Symlink };
                self.set_via(link, edge, Some(previous.clone()));
            }
            // A symlink on the way is needed as much as its target.
            self.mark(link, STRONG);
            previous = link.clone();
        }
        let Some(target) = resolved.target else {
            if warns(&edge) {
                self.warnings.push(SlimWarning::Unresolved {
                    what: path.absolute(),
                    edge,
                    from,
                });
            }
            return Ok(());
        };
        if target != previous {
            let edge = if resolved.links.is_empty() {
                Edge::Alias
            } else {
                Edge::Symlink
            };
            self.set_via(&target, edge, Some(previous));
        }
        if target != path {
            let prev = self.seen.get(&target).copied().unwrap_or(0);
            if flags & !prev == 0 && self.seen.contains_key(&target) {
                return Ok(());
            }
            self.seen.insert(target.clone(), prev | flags);
        }

        match self.view.primary(&target) {
            None => Ok(()),
            Some((_, entry)) if matches!(entry.kind, EntryKind::Dir) => {
                for member in self.view.below(&target) {
                    let is_dir = matches!(self.view.primary(&member), Some((_, e)) if matches!(e.kind, EntryKind::Dir));
                    if !is_dir {
                        self.push(
                            member,
                            Edge::InDirectory,
                            Some(target.clone()),
                            flags & (STRONG | LINKS),
                        );
                    }
                }
                Ok(())
            }
            Some(_) => {
                let Some(owner) = self.mark(&target, flags) else {
                    return Ok(());
                };
                self.follow(owner, &target, flags)
            }
        }
    }

    /// Mark every non-directory entry of `path` as needed: keep its package,
    /// override a rule drop when strong. Returns the owner whose content the
    /// path has, if any entry was accepted. An image file (a COPY over
    /// `/etc/nginx/nginx.conf`) shadows package files of the same path: they
    /// are not what the image holds there, so they keep nothing.
    fn mark(&mut self, path: &ImagePath, flags: u8) -> Option<Owner> {
        if self
            .view
            .entry(Owner::Image, path)
            .is_some_and(|e| !matches!(e.kind, EntryKind::Dir))
        {
            return Some(Owner::Image);
        }
        let mut first = None;
        for owner in self.view.owners(path.as_str()).to_vec() {
            let Some(entry) = self.view.entry(owner, path) else {
                continue;
            };
            if matches!(entry.kind, EntryKind::Dir) {
                continue;
            }
            if let Owner::Package(i) = owner {
                if let Some(&rule) = self.rule_drops.get(i).and_then(|d| d.get(path)) {
                    if flags & STRONG == 0 {
                        continue;
                    }
                    self.rule_drops[i].remove(path);
                    let chain = self.chain(path);
                    self.overrides.insert((i, path.clone()), (rule, chain));
                }
                if self.kept[i].is_none() {
                    let chain = self.chain(path);
                    self.keep(i, KeepReason::Reached { chain });
                }
            }
            first.get_or_insert(owner);
        }
        first
    }

    /// Keep package `i` and queue its files for scanning.
    fn keep(&mut self, i: usize, reason: KeepReason) {
        if self.kept[i].is_some() {
            return;
        }
        self.kept[i] = Some(reason);
        let Some(p) = self.packages.get(i) else {
            return;
        };
        for (path, entry) in &p.tree.entries {
            if matches!(entry.kind, EntryKind::Dir) || self.rule_drops[i].contains_key(path) {
                continue;
            }
            self.set_via(
                path,
                Edge::InKeptPackage {
                    package: p.name.clone(),
                },
                None,
            );
            self.queue.push_back(Task::Scan {
                owner: Owner::Package(i),
                path: path.clone(),
            });
        }
    }

    /// A file of a kept package or of the image, reached or not: follow its
    /// ELF needs, hard link and dlopen edges, but not its symlink or shebang.
    fn scan(&mut self, owner: Owner, path: &ImagePath, flags: u8) -> Result<(), SlimError> {
        if !self.scanned.insert((owner, path.clone())) {
            return Ok(());
        }
        let Some(entry) = self.view.entry(owner, path) else {
            return Ok(());
        };
        if let EntryKind::Hardlink { target } = &entry.kind {
            self.push(
                target.clone(),
                Edge::Hardlink,
                Some(path.clone()),
                STRONG | (flags & RUN),
            );
        }
        if matches!(
            entry.kind,
            EntryKind::File { .. } | EntryKind::Hardlink { .. }
        ) && let Some(info) = self.elf(owner, path, true)?
        {
            self.follow_elf(&info, path);
        }
        self.fire_dlopen(owner, path)
    }

    /// A reached file: scan it, and run it if it is a script being run.
    fn follow(&mut self, owner: Owner, path: &ImagePath, flags: u8) -> Result<(), SlimError> {
        self.scan(owner, path, flags)?;
        if flags & RUN == 0 || !self.followed_scripts.insert(path.clone()) {
            return Ok(());
        }
        let Some(entry) = self.content_entry(owner, path) else {
            return Ok(());
        };
        let head = self.view.head(entry).map_err(|e| self.io_error(entry, e))?;
        let Some(shebang) = elf::parse_shebang(&head) else {
            return Ok(());
        };
        if !shebang.interpreter.starts_with('/') {
            self.warnings.push(SlimWarning::Unresolved {
                what: shebang.interpreter,
                edge: Edge::Shebang,
                from: Some(path.clone()),
            });
            return Ok(());
        }
        let Ok(interp) = ImagePath::new(&shebang.interpreter) else {
            return Ok(());
        };
        let is_env = interp.file_name() == "env";
        self.push(
            interp,
            Edge::Shebang,
            Some(path.clone()),
            STRONG | LINKS | RUN,
        );
        if is_env && let Some(program) = shebang.argument.as_deref().and_then(elf::env_program) {
            match self.find_program(&program) {
                Some(found) => self.push(
                    found,
                    Edge::Shebang,
                    Some(path.clone()),
                    STRONG | LINKS | RUN,
                ),
                None => self.warnings.push(SlimWarning::Unresolved {
                    what: program,
                    edge: Edge::Shebang,
                    from: Some(path.clone()),
                }),
            }
        }
        Ok(())
    }

    fn follow_elf(&mut self, info: &ElfInfo, path: &ImagePath) {
        if let Some(interp) = &info.interpreter {
            match ImagePath::new(interp) {
                Ok(p) if interp.starts_with('/') => self.push(
                    p,
                    Edge::Interpreter,
                    Some(path.clone()),
                    STRONG | LINKS | RUN,
                ),
                _ => self.warnings.push(SlimWarning::Unresolved {
                    what: interp.clone(),
                    edge: Edge::Interpreter,
                    from: Some(path.clone()),
                }),
            }
        }
        for soname in &info.needed {
            let edge = Edge::Needed {
                soname: soname.clone(),
            };
            match self.find_library(soname, info, path) {
                Some(hit) => {
                    if hit.via == SearchSource::LdSoConf && !self.has_ld_so_cache {
                        self.warnings.push(SlimWarning::LibraryViaLdSoConf {
                            library: hit.path.clone(),
                            dir: hit.dir.clone(),
                            needed_by: path.clone(),
                        });
                    }
                    self.push(hit.path, edge, Some(path.clone()), STRONG | LINKS | RUN);
                }
                None => self.warnings.push(SlimWarning::LibraryNotFound {
                    soname: soname.clone(),
                    needed_by: path.clone(),
                }),
            }
        }
    }

    fn fire_dlopen(&mut self, owner: Owner, path: &ImagePath) -> Result<(), SlimError> {
        let name = path.file_name().to_string();
        for (rule_index, rule) in self.dlopen.clone().into_iter().enumerate() {
            if !rule.when.is_match(path.as_str())
                || !rule.if_present.iter().all(|p| self.view.exists(p))
                || !self.fired.insert((rule_index, name.clone()))
            {
                continue;
            }
            let edge = Edge::Dlopen {
                rule: rule.id.clone(),
            };
            for pattern in &rule.paths {
                let Some(matcher) = rules::expand_pattern(pattern, &name) else {
                    continue;
                };
                let hits: Vec<ImagePath> = self
                    .view
                    .all_paths()
                    .filter(|p| matcher.is_match(p))
                    .filter_map(|p| ImagePath::new(p).ok())
                    .collect();
                for hit in hits {
                    self.push(hit, edge.clone(), Some(path.clone()), STRONG | LINKS);
                }
            }
            if !rule.sonames.is_empty()
                && let Some(info) = self.elf(owner, path, false)?
            {
                for soname in &rule.sonames {
                    if let Some(hit) = self.find_library(soname, &info, path) {
                        self.push(hit.path, edge.clone(), Some(path.clone()), STRONG | LINKS);
                    }
                }
            }
        }
        Ok(())
    }

    /// `execvp`: a name with a slash is a path (relative to the working
    /// directory); otherwise the first executable `PATH` entry.
    fn find_program(&self, program: &str) -> Option<ImagePath> {
        if program.contains('/') {
            let p = if program.starts_with('/') {
                ImagePath::new(program).ok()?
            } else {
                self.roots
                    .workdir
                    .clone()
                    .unwrap_or_else(ImagePath::root)
                    .join(program)
                    .ok()?
            };
            return Some(p);
        }
        for dir in &self.path_env {
            let Ok(candidate) = ImagePath::new(&format!("{dir}/{program}")) else {
                continue;
            };
            let Some(target) = self.view.resolve(&candidate, true).target else {
                continue;
            };
            if let Some((_, entry)) = self.view.primary(&target)
                && !matches!(entry.kind, EntryKind::Dir)
                && entry.mode & 0o111 != 0
            {
                return Some(candidate);
            }
        }
        None
    }

    fn find_library(
        &mut self,
        soname: &str,
        info: &ElfInfo,
        needed_by: &ImagePath,
    ) -> Option<LibraryHit> {
        if soname.contains('/') {
            let p = ImagePath::new(soname)
                .ok()
                .filter(|_| soname.starts_with('/'))?;
            return Some(LibraryHit {
                path: p,
                via: SearchSource::Direct,
                dir: String::new(),
            });
        }
        let origin = self
            .view
            .resolve(needed_by, true)
            .target
            .and_then(|t| t.parent())
            .or_else(|| needed_by.parent())
            .unwrap_or_else(ImagePath::root);
        let dirs = view::search_dirs(info, &origin, &self.roots.library_path, &self.ld_so_conf);
        let key = (
            soname.to_string(),
            dirs.clone(),
            info.class64,
            info.little_endian,
            info.machine,
        );
        if let Some(hit) = self.libraries.get(&key) {
            return hit.clone();
        }
        let mut found = None;
        for (via, dir) in dirs {
            let Ok(candidate) = ImagePath::new(&format!("{dir}/{soname}")) else {
                continue;
            };
            let Some(target) = self.view.resolve(&candidate, true).target else {
                continue;
            };
            let Some((owner, entry)) = self.view.primary(&target) else {
                continue;
            };
            if matches!(entry.kind, EntryKind::Dir) {
                continue;
            }
            // The loader skips files of another class or machine; an
            // unreadable candidate is skipped the same way (the I/O error
            // surfaces when the file is scanned).
            if let Ok(Some(lib)) = self.elf(owner, &target, false)
                && lib.compatible(info)
            {
                found = Some(LibraryHit {
                    path: candidate,
                    via,
                    dir,
                });
                break;
            }
        }
        self.libraries.insert(key, found.clone());
        found
    }

    /// The entry holding a path's bytes (through hard links).
    fn content_entry(&self, owner: Owner, path: &ImagePath) -> Option<&'a TreeEntry> {
        let tree = self.view.tree(owner);
        let mut entry = tree.entries.get(path)?;
        for _ in 0..MAX_HARDLINK_HOPS {
            match &entry.kind {
                EntryKind::Hardlink { target } => entry = tree.entries.get(target)?,
                _ => return Some(entry),
            }
        }
        None
    }

    fn io_error(&self, entry: &TreeEntry, source: std::io::Error) -> SlimError {
        let path = match &entry.kind {
            EntryKind::File {
                source: FileSource::Disk(p),
                ..
            } => p.clone(),
            _ => Default::default(),
        };
        SlimError::Io { path, source }
    }

    /// Inspect a file (cached). `warn` records malformed and oversized ELF
    /// files as warnings.
    fn inspect(&mut self, owner: Owner, path: &ImagePath) -> Result<Inspection, SlimError> {
        let key = (owner, path.clone());
        if let Some(i) = self.inspections.get(&key) {
            return Ok(i.clone());
        }
        let result = match self.content_entry(owner, path) {
            Some(
                entry @ TreeEntry {
                    kind: EntryKind::File { source, .. },
                    ..
                },
            ) => match source {
                FileSource::Disk(p) => elf::inspect_file(p).map_err(|e| self.io_error(entry, e))?,
                FileSource::Bytes(b) => elf::inspect_bytes(b),
            },
            _ => Inspection::NotElf,
        };
        self.inspections.insert(key, result.clone());
        Ok(result)
    }

    fn elf(
        &mut self,
        owner: Owner,
        path: &ImagePath,
        warn: bool,
    ) -> Result<Option<ElfInfo>, SlimError> {
        Ok(match self.inspect(owner, path)? {
            Inspection::Elf(info) => Some(info),
            Inspection::NotElf => None,
            Inspection::Malformed(detail) => {
                if warn {
                    self.warnings.push(SlimWarning::MalformedElf {
                        path: path.clone(),
                        detail,
                    });
                }
                None
            }
            Inspection::TooLarge(bytes) => {
                if warn {
                    self.warnings.push(SlimWarning::TooLarge {
                        path: path.clone(),
                        bytes,
                    });
                }
                None
            }
        })
    }

    /// Whether package `i` has any file with ELF magic (malformed included).
    pub fn has_elf(&mut self, i: usize) -> Result<bool, SlimError> {
        let Some(p) = self.packages.get(i) else {
            return Ok(false);
        };
        for (path, entry) in &p.tree.entries {
            if matches!(entry.kind, EntryKind::File { .. })
                && self.inspect(Owner::Package(i), path)? != Inspection::NotElf
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Number of files with ELF magic in package `i`.
    pub fn elf_count(&mut self, i: usize) -> Result<usize, SlimError> {
        let Some(p) = self.packages.get(i) else {
            return Ok(0);
        };
        let mut n = 0;
        for (path, entry) in &p.tree.entries {
            if matches!(entry.kind, EntryKind::File { .. })
                && self.inspect(Owner::Package(i), path)? != Inspection::NotElf
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Record how `path` was reached: the first real edge wins over the
    /// placeholder edges of files that are merely in a kept package or the
    /// image.
    fn set_via(&mut self, path: &ImagePath, edge: Edge, from: Option<ImagePath>) {
        let placeholder = |e: &Edge| matches!(e, Edge::InKeptPackage { .. } | Edge::ImageFile);
        match self.via.get(path) {
            Some(r) if !placeholder(&r.edge) || placeholder(&edge) => {}
            _ => {
                self.via.insert(path.clone(), Reach { edge, from });
            }
        }
    }

    pub fn take_reached(&mut self) -> BTreeMap<ImagePath, Reach> {
        std::mem::take(&mut self.via)
    }

    /// The chain of steps that reached `path`, root first.
    pub fn chain(&self, path: &ImagePath) -> Vec<Step> {
        chain(&self.via, path)
    }

    /// What `program` loads, like `ldd`: its interpreter and the transitive
    /// DT_NEEDED libraries, each soname resolved once, breadth first, as
    /// the loader does.
    pub fn ldd(&mut self, program: &ImagePath) -> Result<Ldd, SlimError> {
        let mut out = Ldd::default();
        let Some(start) = self.view.resolve(program, true).target else {
            out.problem = Some(format!("{program} is in no tree"));
            return Ok(out);
        };
        let Some((owner, _)) = self.view.primary(&start) else {
            out.problem = Some(format!("{program} is in no tree"));
            return Ok(out);
        };
        let info = match self.inspect(owner, &start)? {
            Inspection::Elf(info) => info,
            other => {
                out.problem = Some(format!("{start} is not a usable ELF file: {other:?}"));
                return Ok(out);
            }
        };
        if let Some(interp) = info
            .interpreter
            .as_deref()
            .and_then(|i| ImagePath::new(i).ok())
        {
            out.interpreter = self.view.resolve(&interp, true).target;
        }
        let mut loaded: BTreeSet<String> = BTreeSet::new();
        let mut queue = VecDeque::from([(start, info)]);
        while let Some((path, info)) = queue.pop_front() {
            for soname in &info.needed {
                if !loaded.insert(soname.clone()) {
                    continue;
                }
                let hit = self.find_library(soname, &info, &path);
                let resolved = hit
                    .as_ref()
                    .and_then(|h| self.view.resolve(&h.path, true).target);
                out.libraries.push(LddEntry {
                    soname: soname.clone(),
                    path: hit.map(|h| h.path),
                    resolved: resolved.clone(),
                    needed_by: path.clone(),
                });
                let Some(resolved) = resolved else { continue };
                let Some((owner, _)) = self.view.primary(&resolved) else {
                    continue;
                };
                if let Inspection::Elf(lib) = self.inspect(owner, &resolved)? {
                    queue.push_back((resolved, lib));
                }
            }
        }
        Ok(out)
    }

    /// The ld.so.cache directories: /etc/ld.so.conf (with `include` globs)
    /// or, without it, /etc/ld.so.conf.d/*.conf, in name order, as ldconfig
    /// reads them. Only absolute directories count.
    fn read_ld_so_conf(&self) -> Vec<String> {
        let mut dirs: Vec<String> = Vec::new();
        let mut files: VecDeque<String> = if self.view.exists("etc/ld.so.conf") {
            VecDeque::from(["etc/ld.so.conf".to_string()])
        } else {
            self.glob_paths("etc/ld.so.conf.d/*.conf").into()
        };
        let mut read = BTreeSet::new();
        // Includes can name each other; each file is read once, and at most
        // 256 files are read.
        while let Some(file) = files.pop_front() {
            if read.len() >= 256 || !read.insert(file.clone()) {
                continue;
            }
            let text = self.small_text(&file);
            let mut included = Vec::new();
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("").trim();
                if let Some(pattern) = line.strip_prefix("include") {
                    let pattern = pattern.trim().trim_start_matches('/');
                    included.extend(self.glob_paths(pattern));
                } else if line.starts_with('/') {
                    for d in line
                        .split([' ', '\t', ',', ':', '='])
                        .filter(|d| d.starts_with('/'))
                    {
                        let d = d.trim_end_matches('/');
                        if !dirs.iter().any(|x| x == d) {
                            dirs.push(d.to_string());
                        }
                    }
                }
            }
            // Included files are read where the include stands.
            for f in included.into_iter().rev() {
                files.push_front(f);
            }
        }
        dirs
    }

    fn glob_paths(&self, pattern: &str) -> Vec<String> {
        let Ok(g) = rules::glob(pattern) else {
            return Vec::new();
        };
        let m = g.compile_matcher();
        self.view
            .all_paths()
            .filter(|p| m.is_match(p))
            .map(str::to_owned)
            .collect()
    }

    /// A small configuration file's text (at most 64 KiB; unreadable or
    /// non-UTF-8 content reads as empty).
    fn small_text(&self, path: &str) -> String {
        let Ok(p) = ImagePath::new(path) else {
            return String::new();
        };
        let Some(target) = self.view.resolve(&p, true).target else {
            return String::new();
        };
        let Some((_, entry)) = self.view.primary(&target) else {
            return String::new();
        };
        let bytes = match &entry.kind {
            EntryKind::File {
                source: FileSource::Bytes(b),
                ..
            } => b.get(..b.len().min(65536)).unwrap_or_default().to_vec(),
            EntryKind::File {
                source: FileSource::Disk(d),
                ..
            } => {
                use std::io::Read;
                let mut buf = Vec::new();
                match std::fs::File::open(d) {
                    Ok(f) => {
                        let _ = f.take(65536).read_to_end(&mut buf);
                    }
                    Err(_) => return String::new(),
                }
                buf
            }
            _ => Vec::new(),
        };
        String::from_utf8(bytes).unwrap_or_default()
    }
}

/// Edges whose missing target is worth a warning (dlopen edges and
/// directory members are optional by nature).
fn warns(edge: &Edge) -> bool {
    matches!(
        edge,
        Edge::Command { .. }
            | Edge::RootPath
            | Edge::Interpreter
            | Edge::Needed { .. }
            | Edge::Shebang
            | Edge::Hardlink
            | Edge::Symlink
    )
}
