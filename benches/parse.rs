//! Dockerfile parse throughput: scratchify side by side with the `parse-dockerfile` and
//! `dockerfile-parser` crates, in one run, on one corpus.
//!
//! Run with `cargo bench --bench parse` (add `-- --quick` for a short, noisier run).
//! See `benches/README.md` for what the numbers mean.
//!
//! Choices made here (the issue only said "throughput on a corpus of real Dockerfiles"):
//! - The corpus is loaded into memory once, so disk I/O is never timed, and each parser is
//!   given the loaded text in the type its API takes: the competitors a `&str`, scratchify a
//!   `SourceFile`. Both are made once, at load: a `&str` borrows the `String` a file was read
//!   into, and a `SourceFile` takes that `String` over without copying it (as the
//!   `scratchify` command makes one). A caller holding only a `&str` pays one copy of the
//!   text on top; the baseline row measures that copy.
//! - Besides the parsers, a "lines only" row times scratchify's line layer alone (every line
//!   read, no instruction built): the part of a parse that its typed and nodes-only rows
//!   share, so that the rest can be told apart from it.
//! - Each timed pass parses every file of a set and drops the result; dropping the tree is
//!   part of the cost. `std::hint::black_box` hides inputs and results from the optimiser.
//! - Every parser first parses every file once, untimed, to record which files it rejects
//!   (or panics on). Rejections are listed, never hidden. Throughput is then measured twice
//!   per parser: over the files *every* measured parser accepts (the fair comparison, and
//!   the one the ratios use) and over all files *that* parser accepts.
//! - After a warm-up that also calibrates how many passes make one sample of at least
//!   `sample_ms`, samples are taken in rounds. Within a round every (parser, file set) job
//!   runs once, and the starting job rotates from round to round, so machine noise (other
//!   processes on a shared 2-core box, frequency changes) falls on all parsers alike. The
//!   reported figure is the median over rounds; the spread is (max - min) / median.
//! - 1 MB = 1,000,000 bytes.
//!
//! Nothing here asserts on timings; a run only fails if the corpus cannot be loaded.

use scratchify::source::SourceFile;
use std::fmt::Write as _;
use std::hint::black_box;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// -------------------------------------------------------------------------------------------
// The scratchify side: the only place that names scratchify's parser API.
//
// (Before the parser existed, a stub stood here and `WIRED` was false; the rows of an
// unwired parser are reported as not measured.)
// -------------------------------------------------------------------------------------------

mod scratchify_side {
    use super::CorpusFile;
    use scratchify::source::SourceDiagnostic;
    use std::hint::black_box;

    /// The real parser is wired in.
    pub const WIRED: bool = true;

    /// Lines and typed instructions with every flag, grouped into stages (words stay
    /// unexpanded: `${}` expansion is applied later, per stage, as in BuildKit).
    pub fn typed(file: &CorpusFile) -> Result<(), String> {
        outcome(scratchify::dockerfile::parse(&file.source))
    }

    /// Lowest layer only: lines read, nothing built for an instruction that
    /// cannot start a heredoc (how much of a typed parse the line layer is).
    pub fn lines(file: &CorpusFile) -> Result<(), String> {
        outcome(scratchify::dockerfile::count_instruction_lines(
            &file.source,
        ))
    }

    /// Lower layer only: BuildKit's node tree (what `--format buildkit` prints).
    pub fn nodes(file: &CorpusFile) -> Result<(), String> {
        outcome(scratchify::dockerfile::parse_nodes(&file.source))
    }

    /// A parse's result kept from the optimiser (and then dropped, which is timed too),
    /// or its diagnostic as the one-line rejection reason.
    fn outcome<T>(result: Result<T, SourceDiagnostic>) -> Result<(), String> {
        match result {
            Ok(parsed) => {
                black_box(parsed);
                Ok(())
            }
            Err(diagnostic) => Err(diagnostic.one_line()),
        }
    }
}

// -------------------------------------------------------------------------------------------
// Competitors.
// -------------------------------------------------------------------------------------------

fn parse_dockerfile_crate(file: &CorpusFile) -> Result<(), String> {
    match parse_dockerfile::parse(file.text()) {
        Ok(dockerfile) => {
            black_box(dockerfile);
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

fn dockerfile_parser_crate(file: &CorpusFile) -> Result<(), String> {
    match dockerfile_parser::Dockerfile::parse(file.text()) {
        Ok(dockerfile) => {
            black_box(dockerfile);
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Not a parser: builds a `SourceFile` from a `&str`, which copies the text. Measured so the
/// README can say what a caller who holds only a `&str` (not the `String` a file is read
/// into) pays on top of the scratchify rows.
fn source_file_from_str(file: &CorpusFile) -> Result<(), String> {
    black_box(SourceFile::new(file.label.as_str(), file.text()));
    Ok(())
}

// -------------------------------------------------------------------------------------------
// Parsers under test.
// -------------------------------------------------------------------------------------------

/// Parses one corpus file, returning a one-line reason on rejection.
type ParseFn = fn(&CorpusFile) -> Result<(), String>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Scratchify,
    Competitor,
    /// Not a whole parser (a floor, or one layer of scratchify's): timed on the common set,
    /// kept out of acceptance, of deciding the common set, and of the ratios.
    Baseline,
}

struct Parser {
    label: &'static str,
    /// Crate whose version (from Cargo.lock) is printed next to the label.
    crate_name: &'static str,
    side: Side,
    available: bool,
    parse: ParseFn,
}

fn parsers() -> Vec<Parser> {
    vec![
        Parser {
            label: "scratchify (typed)",
            crate_name: "scratchify",
            side: Side::Scratchify,
            available: scratchify_side::WIRED,
            parse: scratchify_side::typed,
        },
        Parser {
            label: "scratchify (nodes only)",
            crate_name: "scratchify",
            side: Side::Scratchify,
            available: scratchify_side::WIRED,
            parse: scratchify_side::nodes,
        },
        Parser {
            label: "scratchify (lines only)",
            crate_name: "scratchify",
            side: Side::Baseline,
            available: scratchify_side::WIRED,
            parse: scratchify_side::lines,
        },
        Parser {
            label: "parse-dockerfile",
            crate_name: "parse-dockerfile",
            side: Side::Competitor,
            available: true,
            parse: parse_dockerfile_crate,
        },
        Parser {
            label: "dockerfile-parser",
            crate_name: "dockerfile-parser",
            side: Side::Competitor,
            available: true,
            parse: dockerfile_parser_crate,
        },
        Parser {
            label: "baseline: SourceFile from a &str",
            crate_name: "scratchify",
            side: Side::Baseline,
            available: true,
            parse: source_file_from_str,
        },
    ]
}

const CARGO_LOCK: &str = include_str!("../Cargo.lock");

/// The version Cargo.lock pins for `crate_name`, or "?" if it is not there.
fn locked_version(crate_name: &str) -> &'static str {
    let needle = format!("name = \"{crate_name}\"\nversion = \"");
    CARGO_LOCK
        .find(&needle)
        .and_then(|start| CARGO_LOCK.get(start + needle.len()..))
        .and_then(|rest| rest.find('"').and_then(|end| rest.get(..end)))
        .unwrap_or("?")
}

// -------------------------------------------------------------------------------------------
// Corpus.
// -------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    RealWorld,
    BuildKitTestfile,
}

struct CorpusFile {
    /// Path relative to the crate root, used in reports and as the source name.
    label: String,
    /// The text as scratchify's parser takes it: a `SourceFile`, made as the `scratchify`
    /// command makes one, from the `String` a file is read into (moved in, not copied).
    /// The competitors take the same bytes as a `&str` ([`Self::text`]).
    source: SourceFile,
    origin: Origin,
}

impl CorpusFile {
    fn new(label: String, text: String, origin: Origin) -> Self {
        CorpusFile {
            source: SourceFile::new(label.as_str(), text),
            label,
            origin,
        }
    }

    /// The text, as the competitors take it: a `&str` borrowing the bytes `source` holds.
    fn text(&self) -> &str {
        self.source.text()
    }
}

fn load_corpus(root: &Path) -> Result<Vec<CorpusFile>, String> {
    let corpus_dir = root.join("benches/corpus");
    let sources = read_text(&corpus_dir.join("SOURCES.md"))?;
    let mut files = Vec::new();

    let mut real_world = sorted_entries(&corpus_dir)?
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "Dockerfile"))
        .collect::<Vec<_>>();
    real_world.sort();
    if real_world.is_empty() {
        return Err(format!("no *.Dockerfile in {}", corpus_dir.display()));
    }
    for path in real_world {
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("non-UTF-8 file name in {}", corpus_dir.display()))?;
        // Provenance is mandatory: a file without a SOURCES.md row must not be benchmarked.
        if !sources.contains(&format!("`{file_name}`")) {
            return Err(format!(
                "benches/corpus/{file_name} is not listed in benches/corpus/SOURCES.md"
            ));
        }
        files.push(CorpusFile::new(
            format!("benches/corpus/{file_name}"),
            read_text(&path)?,
            Origin::RealWorld,
        ));
    }

    // BuildKit's parser testfiles, read in place from the vendored conformance vectors.
    let testfiles_dir = root.join("tests/conformance/buildkit/parser/testfiles");
    let mut case_dirs = sorted_entries(&testfiles_dir)?;
    case_dirs.retain(|path| path.is_dir());
    if case_dirs.is_empty() {
        return Err(format!("no test cases in {}", testfiles_dir.display()));
    }
    for case_dir in case_dirs {
        let path = case_dir.join("Dockerfile");
        let case = case_dir
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("non-UTF-8 directory name in {}", testfiles_dir.display()))?;
        files.push(CorpusFile::new(
            format!("tests/conformance/buildkit/parser/testfiles/{case}/Dockerfile"),
            read_text(&path)?,
            Origin::BuildKitTestfile,
        ));
    }
    Ok(files)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| format!("{}: {e}", dir.display()))?.path());
    }
    paths.sort();
    Ok(paths)
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

// -------------------------------------------------------------------------------------------
// Acceptance: which files each parser parses at all.
// -------------------------------------------------------------------------------------------

enum Outcome {
    Accepted,
    Rejected(String),
    Panicked(String),
}

/// Parses every file once with every available parser, untimed. Panics are caught and
/// recorded as failures so that one parser's crash cannot hide the others' results.
fn acceptance(parsers: &[Parser], corpus: &[CorpusFile]) -> Vec<Vec<Outcome>> {
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let outcomes = parsers
        .iter()
        .map(|parser| {
            corpus
                .iter()
                .map(|file| {
                    if !parser.available {
                        return Outcome::Rejected("not available".to_owned());
                    }
                    match panic::catch_unwind(AssertUnwindSafe(|| (parser.parse)(file))) {
                        Ok(Ok(())) => Outcome::Accepted,
                        Ok(Err(reason)) => Outcome::Rejected(reason),
                        Err(payload) => Outcome::Panicked(
                            payload
                                .downcast_ref::<&str>()
                                .map(|s| (*s).to_owned())
                                .or_else(|| payload.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "non-string panic payload".to_owned()),
                        ),
                    }
                })
                .collect()
        })
        .collect();
    panic::set_hook(previous_hook);
    outcomes
}

// -------------------------------------------------------------------------------------------
// Timing.
// -------------------------------------------------------------------------------------------

struct Settings {
    rounds: usize,
    sample: Duration,
    warmup: Duration,
    /// `--profile LABEL PASSES`: parse the common file set PASSES times with the one parser
    /// whose label starts with LABEL, and report nothing else; a fixed amount of work for
    /// `perf record` or `valgrind --tool=cachegrind` (which count what timings cannot on a
    /// shared machine).
    profile: Option<(String, u64)>,
    /// `--profile-file LABEL PATH PASSES`: the same, over the one file at PATH (for the
    /// per-instruction costs of `benches/parse_kinds.sh`); no acceptance run.
    profile_file: Option<(String, PathBuf, u64)>,
}

impl Settings {
    fn from_args() -> Result<Settings, String> {
        let mut settings = Settings {
            rounds: 21,
            sample: Duration::from_millis(50),
            warmup: Duration::from_millis(300),
            profile: None,
            profile_file: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // `cargo bench` passes `--bench` to every bench binary.
                "--bench" => {}
                "--quick" => {
                    settings.rounds = 7;
                    settings.sample = Duration::from_millis(20);
                    settings.warmup = Duration::from_millis(100);
                }
                "--rounds" => settings.rounds = number_arg::<usize>(&mut args, "--rounds")?.max(1),
                "--sample-ms" => {
                    settings.sample = Duration::from_millis(number_arg(&mut args, "--sample-ms")?)
                }
                "--profile" => {
                    let label = args.next().ok_or("--profile needs a parser label")?;
                    settings.profile = Some((label, number_arg(&mut args, "--profile")?));
                }
                "--profile-file" => {
                    let label = args.next().ok_or("--profile-file needs a parser label")?;
                    let path = args.next().ok_or("--profile-file needs a file")?;
                    let passes = number_arg(&mut args, "--profile-file")?;
                    settings.profile_file = Some((label, PathBuf::from(path), passes));
                }
                other => {
                    return Err(format!(
                        "unknown argument {other:?} (known: --quick, --rounds N, --sample-ms N, \
                         --profile LABEL PASSES, --profile-file LABEL PATH PASSES)"
                    ));
                }
            }
        }
        Ok(settings)
    }
}

fn number_arg<T: std::str::FromStr>(
    args: &mut impl Iterator<Item = String>,
    flag: &str,
) -> Result<T, String> {
    args.next()
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| format!("{flag} needs a number"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileSet {
    /// Files every measured parser accepts.
    Common,
    /// Files this parser accepts.
    Own,
}

struct Job {
    parser: usize,
    set: FileSet,
    files: Vec<usize>,
    bytes: u64,
    passes_per_sample: u32,
    samples: Vec<Duration>,
    /// Parses that failed while being timed although they passed the acceptance run.
    unstable: u64,
}

/// Parses every file of `job` once; returns how many parses failed.
fn pass(parse: ParseFn, corpus: &[CorpusFile], files: &[usize]) -> u64 {
    let mut failed = 0;
    for &index in files {
        if let Some(file) = corpus.get(index) {
            let result = parse(black_box(file));
            if black_box(result).is_err() {
                failed += 1;
            }
        }
    }
    failed
}

fn measure(parsers: &[Parser], corpus: &[CorpusFile], jobs: &mut [Job], settings: &Settings) {
    // Warm-up and calibration: run each job for `warmup`, then size a sample so that it
    // lasts at least `sample`.
    for job in jobs.iter_mut() {
        let Some(parser) = parsers.get(job.parser) else {
            continue;
        };
        let started = Instant::now();
        let mut passes: u32 = 0;
        while started.elapsed() < settings.warmup || passes == 0 {
            job.unstable += pass(parser.parse, corpus, &job.files);
            passes = passes.saturating_add(1);
        }
        let per_pass = started.elapsed().as_secs_f64() / f64::from(passes);
        let wanted = (settings.sample.as_secs_f64() / per_pass.max(1e-9)).ceil();
        job.passes_per_sample = if wanted >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            (wanted as u32).max(1)
        };
    }

    // Rounds: every job once per round, starting job rotating, so noise is shared.
    let job_count = jobs.len();
    for round in 0..settings.rounds {
        for offset in 0..job_count {
            let Some(job) = jobs.get_mut((round + offset) % job_count) else {
                continue;
            };
            let Some(parser) = parsers.get(job.parser) else {
                continue;
            };
            let started = Instant::now();
            for _ in 0..job.passes_per_sample {
                job.unstable += pass(parser.parse, corpus, &job.files);
            }
            job.samples.push(started.elapsed());
        }
    }
}

struct Throughput {
    megabytes_per_second: f64,
    files_per_second: f64,
    spread_percent: f64,
}

fn throughput(job: &Job) -> Option<Throughput> {
    let mut seconds: Vec<f64> = job.samples.iter().map(Duration::as_secs_f64).collect();
    seconds.sort_by(f64::total_cmp);
    let (first, last) = (*seconds.first()?, *seconds.last()?);
    let middle = seconds.len() / 2;
    let median = if seconds.len() % 2 == 1 {
        *seconds.get(middle)?
    } else {
        (*seconds.get(middle - 1)? + *seconds.get(middle)?) / 2.0
    };
    if median <= 0.0 {
        return None;
    }
    let passes = f64::from(job.passes_per_sample);
    Some(Throughput {
        megabytes_per_second: job.bytes as f64 * passes / median / 1e6,
        files_per_second: job.files.len() as f64 * passes / median,
        spread_percent: (last - first) / median * 100.0,
    })
}

// -------------------------------------------------------------------------------------------
// Report.
// -------------------------------------------------------------------------------------------

/// Runs one parser over `files` `passes` times: a fixed load for a profiler, without the
/// other parsers' work mixed in.
fn profile(
    parsers: &[Parser],
    corpus: &[CorpusFile],
    files: &[usize],
    label: &str,
    passes: u64,
) -> Result<(), String> {
    let parser = parsers
        .iter()
        .find(|parser| parser.label.starts_with(label))
        .ok_or_else(|| format!("no parser labelled {label:?}"))?;
    // A rejected file would make the count meaningless: say so instead.
    // (Once, with or without passes, so that it cancels out of counts
    // taken as the difference of two runs.)
    for file in files.iter().filter_map(|&i| corpus.get(i)) {
        if (parser.parse)(file).is_err() {
            return Err(format!("{} rejects {}", parser.label, file.label));
        }
    }
    for _ in 0..passes {
        pass(parser.parse, corpus, files);
    }
    eprintln!(
        "{}: {passes} passes over {} files",
        parser.label,
        files.len()
    );
    Ok(())
}

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let settings = Settings::from_args()?;
    if let Some((label, path, passes)) = &settings.profile_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let corpus = [CorpusFile::new(
            path.display().to_string(),
            text,
            Origin::RealWorld,
        )];
        return profile(&parsers(), &corpus, &[0], label, *passes);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = load_corpus(root)?;
    let parsers = parsers();

    let mut out = String::new();
    header(&mut out, &corpus, &settings);

    let outcomes = acceptance(&parsers, &corpus);
    acceptance_report(&mut out, &parsers, &corpus, &outcomes);

    let accepted = |parser: usize, file: usize| {
        matches!(
            outcomes.get(parser).and_then(|row| row.get(file)),
            Some(Outcome::Accepted)
        )
    };
    let measured: Vec<usize> = (0..parsers.len())
        .filter(|&p| parsers.get(p).is_some_and(|parser| parser.available))
        .collect();
    let common: Vec<usize> = (0..corpus.len())
        .filter(|&file| {
            measured.iter().all(|&p| {
                accepted(p, file) || parsers.get(p).is_some_and(|x| x.side == Side::Baseline)
            })
        })
        .collect();
    if let Some((label, passes)) = &settings.profile {
        return profile(&parsers, &corpus, &common, label, *passes);
    }

    let bytes_of = |files: &[usize]| -> u64 {
        files
            .iter()
            .filter_map(|&i| corpus.get(i))
            .map(|file| file.text().len() as u64)
            .sum()
    };
    let mut jobs = Vec::new();
    for &p in &measured {
        let own: Vec<usize> = (0..corpus.len())
            .filter(|&file| accepted(p, file))
            .collect();
        for (set, files) in [(FileSet::Common, common.clone()), (FileSet::Own, own)] {
            if !files.is_empty() {
                jobs.push(Job {
                    parser: p,
                    set,
                    bytes: bytes_of(&files),
                    files,
                    passes_per_sample: 1,
                    samples: Vec::new(),
                    unstable: 0,
                });
            }
        }
    }
    print!("{out}");
    out.clear();
    eprintln!(
        "measuring {} jobs x {} rounds (each sample >= {} ms) ...",
        jobs.len(),
        settings.rounds,
        settings.sample.as_millis()
    );
    measure(&parsers, &corpus, &mut jobs, &settings);

    results_report(
        &mut out,
        &parsers,
        &corpus,
        &jobs,
        common.len(),
        bytes_of(&common),
    );
    print!("{out}");
    Ok(())
}

fn header(out: &mut String, corpus: &[CorpusFile], settings: &Settings) {
    let count = |origin: Origin| corpus.iter().filter(|f| f.origin == origin).count();
    let bytes = |origin: Origin| -> usize {
        corpus
            .iter()
            .filter(|f| f.origin == origin)
            .map(|f| f.text().len())
            .sum()
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let threads = std::thread::available_parallelism().map_or(0, usize::from);
    let _ = writeln!(out, "# Dockerfile parse throughput\n");
    let _ = writeln!(
        out,
        "Corpus: {} real-world Dockerfiles ({} bytes, benches/corpus) + {} BuildKit parser \
         testfiles ({} bytes) = {} files, {} bytes.",
        count(Origin::RealWorld),
        bytes(Origin::RealWorld),
        count(Origin::BuildKitTestfile),
        bytes(Origin::BuildKitTestfile),
        corpus.len(),
        bytes(Origin::RealWorld) + bytes(Origin::BuildKitTestfile),
    );
    let _ = writeln!(
        out,
        "Machine: {cpu}, {threads} hardware threads. Single-threaded; median of {} rounds, \
         each sample >= {} ms after a {} ms warm-up per job; parsers interleaved round-robin.\n",
        settings.rounds,
        settings.sample.as_millis(),
        settings.warmup.as_millis()
    );
}

fn parser_name(parser: &Parser) -> String {
    format!("{} {}", parser.label, locked_version(parser.crate_name))
}

fn acceptance_report(
    out: &mut String,
    parsers: &[Parser],
    corpus: &[CorpusFile],
    outcomes: &[Vec<Outcome>],
) {
    let _ = writeln!(out, "## Files each parser accepts\n");
    let _ = writeln!(
        out,
        "| parser | accepted | rejected | panicked | real-world rejected | BuildKit testfiles rejected |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (parser, row) in parsers.iter().zip(outcomes) {
        if parser.side == Side::Baseline {
            continue;
        }
        if !parser.available {
            let _ = writeln!(
                out,
                "| {} | not wired yet (see benches/parse.rs) | | | | |",
                parser_name(parser)
            );
            continue;
        }
        let failed_in = |origin: Origin| {
            row.iter()
                .zip(corpus)
                .filter(|(o, f)| f.origin == origin && !matches!(o, Outcome::Accepted))
                .count()
        };
        let accepted = row
            .iter()
            .filter(|o| matches!(o, Outcome::Accepted))
            .count();
        let rejected = row
            .iter()
            .filter(|o| matches!(o, Outcome::Rejected(_)))
            .count();
        let panicked = row
            .iter()
            .filter(|o| matches!(o, Outcome::Panicked(_)))
            .count();
        let _ = writeln!(
            out,
            "| {} | {accepted}/{} | {rejected} | {panicked} | {} | {} |",
            parser_name(parser),
            corpus.len(),
            failed_in(Origin::RealWorld),
            failed_in(Origin::BuildKitTestfile),
        );
    }
    let _ = writeln!(out);
    for (parser, row) in parsers.iter().zip(outcomes) {
        if !parser.available || parser.side == Side::Baseline {
            continue;
        }
        let failures: Vec<(&CorpusFile, &Outcome)> = corpus
            .iter()
            .zip(row)
            .filter(|(_, o)| !matches!(o, Outcome::Accepted))
            .collect();
        if failures.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{} fails on {} files:", parser.label, failures.len());
        for (file, outcome) in failures {
            let (kind, reason) = match outcome {
                Outcome::Panicked(reason) => ("panic", reason.as_str()),
                Outcome::Rejected(reason) => ("error", reason.as_str()),
                Outcome::Accepted => continue,
            };
            let _ = writeln!(out, "- {}: {kind}: {}", file.label, one_line(reason, 140));
        }
        let _ = writeln!(out);
    }
}

/// `text` on one line (runs of whitespace, newlines included, become one space), cut to at
/// most `limit` characters: pest's multi-line error pictures stay readable in a list.
fn one_line(text: &str, limit: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > limit {
        let cut: String = joined.chars().take(limit).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

fn results_report(
    out: &mut String,
    parsers: &[Parser],
    corpus: &[CorpusFile],
    jobs: &[Job],
    common_files: usize,
    common_bytes: u64,
) {
    let find = |parser: usize, set: FileSet| {
        jobs.iter()
            .find(|job| job.parser == parser && job.set == set)
    };
    let measured_names: Vec<&str> = parsers
        .iter()
        .filter(|p| p.available && p.side != Side::Baseline)
        .map(|p| p.label)
        .collect();

    let _ = writeln!(out, "## Throughput\n");
    let _ = writeln!(
        out,
        "\"common\": the {common_files} files ({common_bytes} bytes) that every measured parser \
         ({}) accepts. \"own\": every file that parser accepts.\n",
        measured_names.join(", ")
    );
    let _ = writeln!(
        out,
        "| parser | common MB/s | common files/s | spread | own files | own MB/s | own files/s | spread |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for (index, parser) in parsers.iter().enumerate() {
        if !parser.available {
            let _ = writeln!(
                out,
                "| {} | not wired yet | | | | | | |",
                parser_name(parser)
            );
            continue;
        }
        let cells =
            |set: FileSet| match find(index, set).and_then(|job| Some((job, throughput(job)?))) {
                Some((job, t)) => (
                    job.files.len().to_string(),
                    format!("{:.1}", t.megabytes_per_second),
                    format!("{:.0}", t.files_per_second),
                    format!("{:.0}%", t.spread_percent),
                ),
                None => ("0".into(), "—".into(), "—".into(), "—".into()),
            };
        let (_, c_mb, c_files, c_spread) = cells(FileSet::Common);
        let (o_count, o_mb, o_files, o_spread) = cells(FileSet::Own);
        let _ = writeln!(
            out,
            "| {} | {c_mb} | {c_files} | {c_spread} | {o_count}/{} | {o_mb} | {o_files} | {o_spread} |",
            parser_name(parser),
            corpus.len()
        );
    }
    let _ = writeln!(
        out,
        "\nTwo rows are not parsers. \"lines only\" is scratchify's line layer alone \
         (directives, continuations, comments, heredoc bodies read; no instruction built): the \
         part of a parse the typed and nodes-only rows share. The baseline row builds \
         scratchify's `SourceFile` from a `&str`, which copies the text. The scratchify rows, \
         like the competitors, start from the text as loaded (a `SourceFile` takes over the \
         `String` a file is read into, uncopied); a caller holding only a `&str` pays the \
         baseline on top.\n"
    );

    let unstable: u64 = jobs.iter().map(|job| job.unstable).sum();
    if unstable > 0 {
        let _ = writeln!(
            out,
            "WARNING: {unstable} timed parses failed although the same file parsed in the \
             acceptance run; a parser is not deterministic.\n"
        );
    }

    // Ratios on the common set: scratchify throughput / competitor throughput.
    let _ = writeln!(
        out,
        "## Ratios (scratchify / competitor, files/s on the common set; above 1 = scratchify faster)\n"
    );
    let competitors: Vec<(usize, &Parser)> = parsers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.side == Side::Competitor)
        .collect();
    let mut heading = String::from("| scratchify |");
    let mut rule = String::from("|---|");
    for (_, competitor) in &competitors {
        let _ = write!(heading, " vs {} |", competitor.label);
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{heading}\n{rule}");
    let common_rate = |index: usize| {
        find(index, FileSet::Common)
            .and_then(throughput)
            .map(|t| t.files_per_second)
    };
    for (index, ours) in parsers.iter().enumerate() {
        if ours.side != Side::Scratchify {
            continue;
        }
        let mut line = format!("| {} |", ours.label);
        for (competitor_index, _) in &competitors {
            match (
                ours.available,
                common_rate(index),
                common_rate(*competitor_index),
            ) {
                (true, Some(a), Some(b)) if b > 0.0 => {
                    let _ = write!(line, " {:.2}x |", a / b);
                }
                (false, _, _) => line.push_str(" n/a (not wired yet) |"),
                _ => line.push_str(" n/a |"),
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
}
