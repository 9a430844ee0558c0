//! The direct path of the typed layer: from an instruction's joined line
//! straight to its typed [`Instruction`], for the shapes nearly every
//! Dockerfile is made of, without first building BuildKit's parse-tree
//! [`Node`](super::nodes::Node) and converting it.
//!
//! [`super::parse`] offers every instruction line here first. A line is
//! taken only when it is plain ASCII, cannot start a heredoc, is not
//! HEALTHCHECK (rare, with a sub-command and durations) or an ONBUILD
//! continued over lines (a one-line ONBUILD's trigger is typed here as an
//! instruction of its own), and has a form that types without error or
//! warning; anything else (a missing argument, a flag the instruction does
//! not take, any error or warning) is declined and goes through the node,
//! which reports it.
//!
//! An instruction continued over lines is first offered to
//! [`continued_command`], before its lines are joined: a RUN, CMD or
//! ENTRYPOINT in shell form (most multi-line instructions are RUNs) is
//! typed from its lines' pieces, and its command keeps the pieces instead
//! of a joined copy (see [`ShellText`]). Anything that needs the joined
//! text to be sure of is declined, then joined and offered to
//! [`instruction`] as usual.
//!
//! What a taken line becomes must be exactly what the node path makes of
//! it: both share the line parsers' pieces (flag extraction, word
//! splitting, JSON, value slicing) and the typed layer's builders, and the
//! property tests compare the two paths on every input they generate
//! (`parse` against `parse_nodes` + `from_nodes`).

use std::borrow::Cow;

use super::byte_masks::{blank_mask, is_ascii};
use super::flags::{Flags, check_flags_into};
use super::go_text::{is_ascii_blank, is_ascii_space_byte, trim_space};
use super::instructions::{
    ADD_FLAGS, ArgInstruction, COPY_FLAGS, CmdInstruction, CommandLine, EntrypointInstruction,
    EnvInstruction, ExposeInstruction, FROM_FLAGS, FromInstruction, Instruction, InstructionSource,
    KeyValue, LabelInstruction, MaintainerInstruction, OnbuildInstruction, RUN_FLAGS, RunOptions,
    ShellInstruction, ShellText, ShortVec, StopSignalInstruction, UserInstruction,
    VolumeInstruction, Word, WorkdirInstruction, add_instruction, arg_decl, copy_instruction,
    onbuild_expression, run_options_into, stage_name, string_flag,
};
use super::json::{JsonArrayError, for_each_json_string};
use super::line_map::LineMap;
use super::line_parsers::{
    Args, WordBounds, Words, blank_separated_in, extract_builder_flags, find_blank_run,
    find_blank_run_in, flag_nodes, flag_value_start, literal_flag_node, scan_literal_flags,
};
use super::lines::{LineSite, has_heredoc_marker, has_heredoc_marker_bytes};
use super::nodes::{Keyword, NodeFlag};
use crate::source::Span;

/// Where [`instruction`] puts what it makes; implementations mark their
/// methods `#[inline(always)]` (a closure would be compiled on its own,
/// and the instruction copied into it).
pub(crate) trait Emit<'a> {
    /// Takes the instruction `make` builds (`make` cannot fail: a
    /// placer may look at where the instruction goes before building it).
    fn emit_with(&mut self, make: impl FnOnce() -> Instruction<'a>);

    /// Takes the FROM `make` builds: a FROM opens a stage, which is built
    /// in place too.
    fn emit_from(&mut self, make: impl FnOnce() -> FromInstruction<'a>);
}

/// The typed instruction `line` (the joined text, mapped to the source by
/// `map`) is, handed to `emit`, when it has one of the shapes taken here;
/// `None` leaves the line to the node path (and `emit` uncalled).
///
/// Each shape checks everything that can fail first and then builds its
/// instruction through [`Emit::emit_with`], once it is sure to be taken;
/// this function is inlined into its one caller, so that the instruction
/// (about 400 bytes) is not copied once per function it passes through.
///
/// `line` is the joined line itself, so that a shell command can take its
/// bytes instead of copying them (see [`PendingCommand`]); it is left as
/// it was unless the line is taken.
#[inline(always)]
pub(crate) fn instruction<'a>(
    line: &mut Cow<'a, str>,
    map: &LineMap,
    at: &LineSite<'a>,
    mut emit: impl Emit<'a>,
) -> Option<()> {
    let text: &str = line;
    // ASCII only: white space is then the six ASCII characters, and every
    // byte offset is a character boundary. (The line is made of pieces of
    // the source: when the source is ASCII, it is.)
    if !at.source_is_ascii && !is_ascii(text.as_bytes()) {
        return None;
    }
    let b = text.as_bytes();
    let t_start = b.iter().position(|&c| !is_ascii_space_byte(c))?;
    let t_end = b.iter().rposition(|&c| !is_ascii_space_byte(c))? + 1;
    let trimmed = &text[t_start..t_end];
    // The keyword ends at the first blank; an instruction without
    // arguments goes the node's way (for its error).
    let is_blank = |c: &u8| is_ascii_blank(char::from(*c));
    let tb = trimmed.as_bytes();
    // Nearly every line has 16 bytes to look at: the keyword's end and the
    // keyword are then found without a loop over its bytes (whose exit,
    // after 3 to 11 bytes, the branch predictor cannot know).
    let (kw_end, keyword) = match tb.first_chunk::<16>() {
        Some(window) => {
            let blanks = blank_mask(window);
            if blanks == 0 {
                // No known keyword is 16 bytes long.
                return None;
            }
            let kw_end = blanks.trailing_zeros() as usize;
            (kw_end, Keyword::of_ascii_prefix(window, kw_end))
        }
        None => {
            let kw_end = tb.iter().position(is_blank)?;
            (kw_end, Keyword::of(&trimmed[..kw_end]))
        }
    };
    // HEALTHCHECK (rare, with a sub-command and durations) is the node
    // path's.
    if matches!(keyword, Keyword::Healthcheck | Keyword::Unknown) {
        return None;
    }
    // A heredoc is read after the line: RUN, COPY and ADD with a `<<` are
    // the node path's (other instructions give `<<` no meaning; an
    // ONBUILD's trigger is checked when it is typed).
    if matches!(keyword, Keyword::Run | Keyword::Copy | Keyword::Add) && has_heredoc_marker(text) {
        return None;
    }
    let after = kw_end + tb[kw_end..].iter().take_while(|c| is_blank(c)).count();
    let rest = &trimmed[after..];
    // Flags as written (no quotes or escapes; nearly all of them) become
    // nodes as they are found, the others through BuildKit's scan.
    // Most flagged instructions have one flag: held in place.
    let mut flags: ShortVec<NodeFlag<'a>> = ShortVec::new();
    let at_base = |base: usize| Args {
        map,
        source: at.source,
        base,
        escape: at.escape,
    };
    let flags_base = at_base(t_start + after);
    let literal = if rest.starts_with("--") {
        scan_literal_flags(rest, at.escape, |start, end| {
            flags.push(literal_flag_node(rest, start, end, &flags_base));
        })
    } else {
        Some(0)
    };
    let rest_off = match literal {
        Some(rest_off) => rest_off,
        None => {
            let (rest_off, flag_words) = extract_builder_flags(rest, at.escape);
            flags = flag_nodes(rest, flag_words, &flags_base).into();
            rest_off
        }
    };
    // `rest` ends where `trimmed` does, at a non-space byte: only leading
    // space is left to trim (the six ASCII spaces, Go's `unicode.IsSpace`
    // on ASCII text).
    let raw_args = &rest[rest_off..];
    let lead = raw_args
        .bytes()
        .take_while(|&c| is_ascii_space_byte(c))
        .count();
    let args = &raw_args[lead..];
    if args.is_empty() {
        return None;
    }
    let args_start = t_start + after + rest_off + lead;
    // A one-line instruction's line is a slice of the source (borrowed, one
    // piece): its words are then slices of the source too, at a fixed
    // shift, with no look-up in the map.
    let line_in_source = match (&*line, map.contiguous_origin()) {
        (Cow::Borrowed(whole), Some(origin)) => Some((*whole, origin)),
        _ => None,
    };
    // The keyword's text and place are picked first and the word built
    // once, in place: an `Option<Word>` unwrapped here was written to the
    // stack and read back at once, which stalls the load on the stores.
    let (keyword_text, keyword_span) = match in_line_source(line_in_source, t_start, kw_end) {
        Some((text, start)) => (Cow::Borrowed(text), Span::new(start, start + kw_end)),
        None => (
            at_base(0).text(&trimmed[..kw_end], t_start, t_start + kw_end),
            map.span(t_start, t_start + kw_end),
        ),
    };
    let source = InstructionSource {
        keyword: Word {
            text: keyword_text,
            span: keyword_span,
        },
        span: at.span,
        start_line: at.start_line,
        end_line: at.end_line,
    };
    let in_source = in_line_source(line_in_source, args_start, args.len());
    let a = ArgsText {
        text: args,
        args: at_base(args_start),
        in_source,
    };
    use Keyword as K;
    // Each shape checks everything that can fail first, then builds its
    // instruction in place (see `Emit::emit_with`).
    match keyword {
        K::Run => {
            let mut checked = Flags::default();
            check_flags_into(&flags, RUN_FLAGS, &mut checked).ok()?;
            let command = a.command()?;
            let mut options = RunOptions::FLAGLESS;
            run_options_into(&checked, map, &mut options).ok()?;
            let command = command.finish(line);
            emit.emit_with(move || options.instruction(command, Vec::new(), source));
        }
        K::Cmd => {
            no_flags(&flags)?;
            let command = a.command()?.finish(line);
            emit.emit_with(move || Instruction::Cmd(CmdInstruction { command, source }));
        }
        K::Entrypoint => {
            no_flags(&flags)?;
            let command = a.command()?.finish(line);
            emit.emit_with(move || {
                Instruction::Entrypoint(EntrypointInstruction { command, source })
            });
        }
        K::From => {
            let mut words = a.blank_separated();
            let image = words.next()?;
            let stage_name = match (words.next(), words.next(), words.next()) {
                (None, _, _) => None,
                (Some(as_kw), Some(name), None) if as_kw.text.eq_ignore_ascii_case("as") => {
                    Some(stage_name(name).ok()?)
                }
                _ => return None,
            };
            let mut checked = Flags::default();
            check_flags_into(&flags, FROM_FLAGS, &mut checked).ok()?;
            let platform = string_flag(&checked, "platform");
            emit.emit_from(move || FromInstruction {
                image,
                stage_name,
                platform,
                source,
            });
        }
        K::Copy | K::Add => {
            let declared = if keyword == K::Copy {
                COPY_FLAGS
            } else {
                ADD_FLAGS
            };
            let mut checked: Flags<'a, 'static> = Flags::default();
            check_flags_into(&flags, declared, &mut checked).ok()?;
            let (sources, dest, json) = a.sources_and_dest()?;
            if keyword == K::Copy {
                emit.emit_with(move || {
                    copy_instruction(sources, Vec::new(), dest, json, &checked, source)
                });
            } else {
                emit.emit_with(move || {
                    add_instruction(sources, Vec::new(), dest, json, &checked, source)
                });
            }
        }
        K::Volume => {
            no_flags(&flags)?;
            let (volumes, json) = a.maybe_json_list()?;
            // A volume that is empty or has space around it (possible in
            // JSON) is the node path's, which reports or trims it.
            if volumes.is_empty()
                || volumes
                    .iter()
                    .any(|w| w.text.is_empty() || trim_space(&w.text).len() != w.text.len())
            {
                return None;
            }
            emit.emit_with(move || {
                Instruction::Volume(VolumeInstruction {
                    volumes,
                    json,
                    source,
                })
            });
        }
        K::Shell => {
            no_flags(&flags)?;
            // Only the JSON form with at least one string is valid.
            let shell = a.json_strings()?.filter(|words| !words.is_empty())?;
            emit.emit_with(move || Instruction::Shell(ShellInstruction { shell, source }));
        }
        K::Stopsignal => {
            // Flags on STOPSIGNAL are ignored with a warning: the node path's.
            no_flags(&flags)?;
            let signal = a.whole();
            emit.emit_with(move || {
                Instruction::StopSignal(StopSignalInstruction { signal, source })
            });
        }
        K::Maintainer => {
            no_flags(&flags)?;
            let maintainer = a.whole();
            emit.emit_with(move || {
                Instruction::Maintainer(MaintainerInstruction { maintainer, source })
            });
        }
        K::Env => {
            no_flags(&flags)?;
            let pairs = a.key_values()?;
            emit.emit_with(move || Instruction::Env(EnvInstruction { pairs, source }));
        }
        K::Label => {
            no_flags(&flags)?;
            let pairs = a.key_values()?;
            emit.emit_with(move || Instruction::Label(LabelInstruction { pairs, source }));
        }
        K::Arg => {
            // Flags on ARG are ignored with a warning: the node path's.
            no_flags(&flags)?;
            let mut decls = ShortVec::new();
            for w in a.words() {
                decls.push(arg_decl(w).ok()?);
            }
            // Text that splits into no words (a lone escape) is an error.
            if decls.is_empty() {
                return None;
            }
            // In a stage it is built in place; before the first FROM,
            // `emit_with` places it, as a global ARG.
            emit.emit_with(move || {
                Instruction::Arg(ArgInstruction {
                    args: decls,
                    source,
                })
            });
        }
        K::Workdir => {
            no_flags(&flags)?;
            let path = a.whole();
            emit.emit_with(move || Instruction::Workdir(WorkdirInstruction { path, source }));
        }
        K::User => {
            no_flags(&flags)?;
            let user = a.whole();
            emit.emit_with(move || Instruction::User(UserInstruction { user, source }));
        }
        K::Onbuild => {
            // Flags on ONBUILD are an error: the node path's.
            no_flags(&flags)?;
            // The trigger is typed as an instruction of its own from its
            // slice of the source, so only a one-line ONBUILD is taken.
            let (trigger, _) = a.in_source?;
            let trigger = onbuild_trigger(trigger, args_start, map, at)?;
            let expression = onbuild_expression(text);
            emit.emit_with(move || {
                Instruction::Onbuild(OnbuildInstruction {
                    source,
                    expression,
                    trigger: Some(Box::new(trigger)),
                })
            });
        }
        K::Expose => {
            no_flags(&flags)?;
            let mut ports: Vec<Word<'a>> = a.blank_separated().collect();
            ports.sort_by(|a, b| a.text.cmp(&b.text));
            emit.emit_with(move || Instruction::Expose(ExposeInstruction { ports, source }));
        }
        _ => return None,
    }
    Some(())
}

/// The typed trigger of a one-line ONBUILD: `trigger` (a slice of the
/// source, at `start` in the ONBUILD's line, whose map is `map`) typed by
/// [`instruction`] as the node path types it: its span is its own trimmed
/// text, and its lines are the ONBUILD's.
/// `None` for a trigger the node path reports (ONBUILD, FROM or
/// MAINTAINER) and for any the direct path declines.
///
/// Not inlined: it is a second instance of [`instruction`], which ONBUILD
/// lines alone use.
#[inline(never)]
fn onbuild_trigger<'a>(
    trigger: &'a str,
    start: usize,
    map: &LineMap,
    at: &LineSite<'a>,
) -> Option<Instruction<'a>> {
    let kw_end = trigger
        .bytes()
        .position(|c| is_ascii_blank(char::from(c)))
        .unwrap_or(trigger.len());
    if matches!(
        Keyword::of(&trigger[..kw_end]),
        Keyword::Onbuild | Keyword::From | Keyword::Maintainer
    ) {
        return None;
    }
    let end = start + trigger.len();
    let site = LineSite {
        source: at.source,
        source_is_ascii: at.source_is_ascii,
        escape: at.escape,
        span: map.span(start, end),
        start_line: at.start_line,
        end_line: at.end_line,
    };
    /// Keeps the one instruction the trigger types to.
    struct Capture<'a>(Option<Instruction<'a>>);
    impl<'a> Emit<'a> for &mut Capture<'a> {
        #[inline(always)]
        fn emit_with(&mut self, make: impl FnOnce() -> Instruction<'a>) {
            self.0 = Some(make());
        }

        /// Never called: a FROM trigger is declined above.
        #[inline(always)]
        fn emit_from(&mut self, _: impl FnOnce() -> FromInstruction<'a>) {}
    }
    let mut captured = Capture(None);
    instruction(
        &mut Cow::Borrowed(trigger),
        &map.slice(start, end),
        &site,
        &mut captured,
    )?;
    captured.0
}

/// The RUN, CMD or ENTRYPOINT in shell form that an instruction continued
/// over lines is, typed from its lines' pieces without joining them (its
/// command is a [`ShellText`] over the pieces) and handed to `emit`; `None`
/// leaves it to be joined and offered to [`instruction`].
///
/// Taken only where the joined line would be typed as the same
/// shell-form command, and the pieces alone show it: no `<<` (in a piece
/// or across two), the keyword in the first line, every flag written as
/// is (no quotes or escapes) and ended by a blank, in the first line or,
/// when every word of the first line is a flag, in the lines after it
/// (see [`continued_flags`]), and a command that starts and ends with
/// an ASCII character and starts with neither `[` (perhaps JSON) nor `--`
/// (another flag), nor with a quote or escape after flags (which
/// BuildKit's flag scan reads).
/// Offsets below count in the joined text, which starts with `first`.
#[inline(always)]
pub(crate) fn continued_command<'a>(
    first: &'a str,
    pieces: &[(usize, usize)],
    map: &LineMap,
    at: &LineSite<'a>,
    mut emit: impl Emit<'a>,
) -> Option<()> {
    let piece_bytes = |&(start, len): &(usize, usize)| at.source.as_bytes().get(start..start + len);
    // `first` starts at the keyword (the line's leading white space is not
    // in it), and a blank must end the keyword within it.
    let is_blank = |c: &u8| is_ascii_blank(char::from(*c));
    let fb = first.as_bytes();
    let kw_end = fb.iter().position(is_blank)?;
    let keyword = Keyword::of(&first[..kw_end]);
    if !matches!(keyword, Keyword::Run | Keyword::Cmd | Keyword::Entrypoint) {
        return None;
    }
    // No heredoc: no `<<` in the joined text. One search of the lines'
    // whole range in the source (comment lines and escapes included)
    // nearly always finds no `<` at all; only then are the pieces looked
    // at, for a `<<` in one or across the end of one and the start of the
    // next.
    let (&(range_start, _), &(last_start, last_len)) = (pieces.first()?, pieces.last()?);
    let range = at
        .source
        .as_bytes()
        .get(range_start..last_start + last_len)?;
    if memchr::memchr(b'<', range).is_some() {
        let mut last = 0u8;
        for p in pieces {
            let bytes = piece_bytes(p)?;
            let (Some(&head), Some(&tail)) = (bytes.first(), bytes.last()) else {
                continue;
            };
            if (last == b'<' && head == b'<') || has_heredoc_marker_bytes(bytes) {
                return None;
            }
            last = tail;
        }
    }
    let after = kw_end + fb[kw_end..].iter().take_while(|c| is_blank(c)).count();
    let rest = &first[after..];
    // Most flagged instructions have one flag: held in place.
    let mut flags: ShortVec<NodeFlag<'a>> = ShortVec::new();
    let resume = if rest.starts_with("--") {
        let rest_off = scan_literal_flags(rest, at.escape, |start, end| {
            flags.push(flag_in_source(rest, range_start + after, after, start, end));
        })?;
        if rest_off < rest.len() {
            after + rest_off
        } else {
            // Every word of the first line is a flag: the flags may go on
            // in the next lines (BuildKit reads them from the joined text).
            let rest_piece = (range_start + after, rest.len());
            continued_flags(at, rest_piece, after, &pieces[1..], &mut flags)?
        }
    } else {
        after
    };
    // The command: from the first non-space byte at or after `resume` to
    // the last non-space byte.
    // (Its first two bytes tell a JSON array or a flag.)
    let mut joined_start = 0;
    let mut args_start = None;
    let mut head: (u8, Option<u8>) = (0, None);
    'pieces: for p in pieces {
        let bytes = piece_bytes(p)?;
        let from = resume.saturating_sub(joined_start).min(bytes.len());
        for (i, &c) in bytes.iter().enumerate().skip(from) {
            if args_start.is_some() {
                head.1 = Some(c);
                break 'pieces;
            }
            if !is_ascii_space_byte(c) {
                args_start = Some(joined_start + i);
                head.0 = c;
            }
        }
        joined_start += bytes.len();
    }
    let args_start = args_start?;
    // A command that starts with a character other than ASCII may start
    // with white space Go trims (U+00A0, say): left to the joined path.
    let special = matches!(head.0, b'\\' | b'`' | b'\'' | b'"');
    if !head.0.is_ascii()
        || head.0 == b'['
        || head == (b'-', Some(b'-'))
        || (!flags.is_empty() && special)
    {
        return None;
    }
    // The same at its end. (Other characters inside it are the command's
    // own: offsets found by ASCII bytes fall on character boundaries.)
    let mut args_end = map.len();
    for p in pieces.iter().rev() {
        let bytes = piece_bytes(p)?;
        match bytes.iter().rposition(|&c| !is_ascii_space_byte(c)) {
            Some(i) if !bytes[i].is_ascii() => return None,
            Some(i) => {
                args_end -= bytes.len() - i - 1;
                break;
            }
            None => args_end -= bytes.len(),
        }
    }
    if args_end <= args_start {
        return None;
    }
    let source = InstructionSource {
        // `first` is a slice of the source starting at `range_start`.
        keyword: source_word(first, range_start, 0, kw_end)?,
        span: at.span,
        start_line: at.start_line,
        end_line: at.end_line,
    };
    let command = CommandLine::Shell {
        command: ShellText::from_pieces(
            at.source,
            map.span(args_start, args_end),
            map.slice(args_start, args_end),
        ),
    };
    match keyword {
        Keyword::Run => {
            let mut checked = Flags::default();
            check_flags_into(&flags, RUN_FLAGS, &mut checked).ok()?;
            let mut options = RunOptions::FLAGLESS;
            run_options_into(&checked, map, &mut options).ok()?;
            emit.emit_with(move || options.instruction(command, Vec::new(), source));
        }
        Keyword::Cmd => {
            no_flags(&flags)?;
            emit.emit_with(move || Instruction::Cmd(CmdInstruction { command, source }));
        }
        _ => {
            no_flags(&flags)?;
            emit.emit_with(move || {
                Instruction::Entrypoint(EntrypointInstruction { command, source })
            });
        }
    }
    Some(())
}

/// The flags of a continued instruction's lines after its first, whose
/// words (the first line's `rest`, the piece `(start, len)` of the source
/// at `joined` in the joined text) were all flags: each flag becomes a
/// node as its line holds it, and the joined offset where the command
/// starts is returned. `None` leaves the instruction to the joined path:
/// a flag that BuildKit's scan reads (quotes, escapes), a line whose last
/// word may go on in the next (no blank ends it), or no command at all.
///
/// A blank ends every line whose words are all flags, so the joined text
/// splits into the same words as the lines do, and every flag lies whole
/// in one line: its text is a slice of the source and its spans are that
/// line's offsets shifted, with no look-up in the map.
fn continued_flags<'a>(
    at: &LineSite<'a>,
    (start, len): (usize, usize),
    joined: usize,
    pieces: &[(usize, usize)],
    flags: &mut ShortVec<NodeFlag<'a>>,
) -> Option<usize> {
    let text = at.source.get(start..start + len)?;
    if !text.bytes().last().is_some_and(is_ascii_space_byte) {
        return None;
    }
    let mut joined = joined + len;
    for &(start, len) in pieces {
        let text = at.source.get(start..start + len)?;
        let at_flag = joined;
        let rest_off = scan_literal_flags(text, at.escape, |s, e| {
            flags.push(flag_in_source(text, start, at_flag, s, e));
        })?;
        if rest_off < text.len() {
            return Some(joined + rest_off);
        }
        if text.bytes().last().is_some_and(|c| !is_ascii_space_byte(c)) {
            return None;
        }
        joined += len;
    }
    None
}

/// The node of a flag written as is (no quotes or escapes) at
/// `start..end` of `text`, a slice of the source that starts at `origin`
/// there and at `joined` in the instruction's joined text: what
/// [`literal_flag_node`] makes of it, without a look-up in the map.
#[inline(always)]
fn flag_in_source<'a>(
    text: &'a str,
    origin: usize,
    joined: usize,
    start: usize,
    end: usize,
) -> NodeFlag<'a> {
    let flag = text.get(start..end).unwrap_or_default();
    let span = Span::new(origin + start, origin + end);
    let value_span = match flag_value_start(flag) {
        Some(v) => Span::new(origin + start + v, origin + end),
        None => span,
    };
    NodeFlag {
        text: Cow::Borrowed(flag),
        span,
        value_span,
        text_range: joined + start..joined + end,
        literal: true,
    }
}

/// A command whose shell text, when it is not a slice of the source (it
/// spans a line continuation), is not yet copied: the joined line was
/// made for this instruction alone, so [`Self::finish`] takes its bytes
/// instead (the largest copy of a parse: long multi-line RUNs).
enum PendingCommand<'a> {
    Ready(CommandLine<'a>),
    /// A shell command that is `range` of the joined line.
    Shell {
        range: std::ops::Range<usize>,
        span: Span,
        map: LineMap,
    },
}

impl<'a> PendingCommand<'a> {
    /// The command, taking the shell text out of the joined `line` when it
    /// is owned (which leaves `line` empty). The direct path takes ASCII
    /// lines only, so every offset in `range` is a character boundary.
    fn finish(self, line: &mut Cow<'a, str>) -> CommandLine<'a> {
        match self {
            PendingCommand::Ready(command) => command,
            PendingCommand::Shell { range, span, map } => {
                // (`range` is checked anyway: a mistake gives an empty
                // command, never a panic.)
                let text = match line {
                    Cow::Borrowed(whole) => Cow::Borrowed(whole.get(range).unwrap_or_default()),
                    Cow::Owned(whole) if whole.get(range.clone()).is_some() => {
                        let mut text = std::mem::take(whole);
                        text.truncate(range.end);
                        text.drain(..range.start);
                        Cow::Owned(text)
                    }
                    Cow::Owned(_) => Cow::Owned(String::new()),
                };
                CommandLine::Shell {
                    command: ShellText::new(text, span, map),
                }
            }
        }
    }
}

/// The `len` bytes at `start` of a line that is `line_in_source` (the
/// line as a slice of the source, and where it starts there), as a slice
/// of the source and where it starts there.
///
/// Always inlined, as a closure here was not: its result was then
/// written to the stack by the closure and read back at once by the
/// caller in wider loads, which stall on the stores.
#[inline(always)]
fn in_line_source(
    line_in_source: Option<(&str, usize)>,
    start: usize,
    len: usize,
) -> Option<(&str, usize)> {
    match line_in_source {
        Some((whole, origin)) => match whole.get(start..start + len) {
            Some(text) => Some((text, origin + start)),
            None => None,
        },
        None => None,
    }
}

/// The word at `start..end` of `text`, a slice of the source that starts
/// at `origin` there: borrowed, its span the same offsets shifted.
#[inline(always)]
fn source_word(text: &str, origin: usize, start: usize, end: usize) -> Option<Word<'_>> {
    Some(Word {
        text: Cow::Borrowed(text.get(start..end)?),
        span: Span::new(origin + start, origin + end),
    })
}

/// An instruction that takes no flags: any flag is an error, left to the
/// node path.
fn no_flags(flags: &[NodeFlag]) -> Option<()> {
    flags.is_empty().then_some(())
}

/// The argument text of an instruction (after the keyword and flags,
/// trimmed, not empty) with its place in the joined line.
struct ArgsText<'t, 'm, 'a> {
    text: &'t str,
    args: Args<'m, 'a>,
    /// `text` as the slice of the source it is, and where it starts there,
    /// when it is one.
    in_source: Option<(&'a str, usize)>,
}

/// The iterator of [`ArgsText::blank_separated`].
struct BlankSeparated<'r, 't, 'm, 'a> {
    args: &'r ArgsText<'t, 'm, 'a>,
    words: WordSplit,
}

/// How [`BlankSeparated`] finds its words.
enum WordSplit {
    /// Read off one mask of the text's blanks.
    Masked(WordBounds),
    /// A run of blanks at a time; the next word starts here (`None` once
    /// the last has been given).
    Runs(Option<usize>),
}

impl<'a> Iterator for BlankSeparated<'_, '_, '_, 'a> {
    type Item = Word<'a>;

    #[inline]
    fn next(&mut self) -> Option<Word<'a>> {
        let a = self.args;
        let text = a.text;
        let (start, end) = match &mut self.words {
            WordSplit::Masked(bounds) => bounds.next()?,
            WordSplit::Runs(from) => {
                let start = (*from)?;
                // In the source, the runs are found 16 bytes at a time.
                let run = match a.in_source {
                    Some((_, origin)) => {
                        find_blank_run_in(a.args.source, origin, text.len(), start)
                    }
                    None => find_blank_run(text, start),
                };
                let (end, next) = match run {
                    Some((bs, be)) => (bs, Some(be)),
                    None => (text.len(), None),
                };
                *from = next;
                (start, end)
            }
        };
        Some(a.word(&text[start..end], start, end))
    }
}

impl<'t, 'm, 'a> ArgsText<'t, 'm, 'a> {
    /// The word `value` at `start..end` of the argument text.
    #[inline(always)]
    fn word(&self, value: &str, start: usize, end: usize) -> Word<'a> {
        debug_assert_eq!(self.text.get(start..end), Some(value));
        if let Some((text, origin)) = self.in_source
            && let Some(word) = source_word(text, origin, start, end)
        {
            return word;
        }
        Word {
            text: self.args.text(value, start, end),
            span: self
                .args
                .map
                .span(self.args.base + start, self.args.base + end),
        }
    }

    /// The whole text as one word (`parseString`).
    fn whole(&self) -> Word<'a> {
        self.word(self.text, 0, self.text.len())
    }

    /// Words split at runs of blanks (`parseStringsWhitespaceDelimited`).
    /// A text that is a slice of the source of up to 64 bytes (nearly every
    /// FROM, COPY and EXPOSE) is split from one mask of its blanks.
    fn blank_separated(&self) -> BlankSeparated<'_, 't, 'm, 'a> {
        let masked = self
            .in_source
            .and_then(|(_, origin)| blank_separated_in(self.args.source, origin, self.text.len()));
        BlankSeparated {
            args: self,
            words: masked.map_or(WordSplit::Runs(Some(0)), WordSplit::Masked),
        }
    }

    /// Words split at blanks outside quotes (`parseWords`).
    fn words(&self) -> impl Iterator<Item = Word<'a>> + '_ {
        Words::new(self.text, self.args.escape).map(|(s, e)| self.word(&self.text[s..e], s, e))
    }

    /// The strings of a JSON array: `Some(Some)` for an array of strings,
    /// `Some(None)` for text that is not JSON, `None` for an array with
    /// other elements (an error).
    fn json_strings(&self) -> Option<Option<Vec<Word<'a>>>> {
        let text = self.text;
        if !text.starts_with('[') {
            return Some(None);
        }
        let mut words = Vec::new();
        let found = for_each_json_string(text, |j| {
            let span = self
                .args
                .map
                .span(self.args.base + j.start, self.args.base + j.end);
            words.push(Word {
                text: match j.value {
                    // No escapes: the text between the quotes.
                    None => self
                        .args
                        .text(&text[j.start + 1..j.end - 1], j.start, j.end),
                    Some(decoded) => Cow::Owned(decoded),
                },
                span,
            });
        });
        match found {
            Ok(()) => Some(Some(words)),
            Err(JsonArrayError::NotStringArray) => None,
            Err(_) => Some(None),
        }
    }

    /// The strings of a JSON array, or else the blank-separated words
    /// (`parseMaybeJSONToList`), and whether it was JSON; `None` for an
    /// array with other elements (an error).
    fn maybe_json_list(&self) -> Option<(Vec<Word<'a>>, bool)> {
        Some(match self.json_strings()? {
            Some(words) => (words, true),
            None => (self.blank_separated().collect(), false),
        })
    }

    /// The sources and destination (the last word) of COPY or ADD
    /// ([`Self::maybe_json_list`]), and whether they were JSON; `None` for
    /// fewer than two words or an array with other elements (errors), and
    /// for a heredoc source (only possible here through a JSON escape),
    /// which is the node path's.
    ///
    /// Words are collected with the last one kept aside, so that the
    /// usual single source is held in place and nothing is allocated.
    fn sources_and_dest(&self) -> Option<(ShortVec<Word<'a>>, Word<'a>, bool)> {
        if let Some(mut words) = self.json_strings()? {
            if words.len() < 2 || words.iter().any(|w| w.text.contains("<<")) {
                return None;
            }
            let dest = words.pop()?;
            return Some((words.into(), dest, true));
        }
        let mut words = self.blank_separated();
        let mut dest = words.next()?;
        let mut sources = ShortVec::new();
        for word in words {
            sources.push(std::mem::replace(&mut dest, word));
        }
        (!sources.is_empty()).then_some((sources, dest, false))
    }

    /// The command of RUN, CMD or ENTRYPOINT (`parseMaybeJSON`, then
    /// `handleJSONArgs`).
    fn command(&self) -> Option<PendingCommand<'a>> {
        if let Some(args) = self.json_strings()? {
            return Some(PendingCommand::Ready(CommandLine::Exec { args }));
        }
        let (start, end) = (self.args.base, self.args.base + self.text.len());
        if self.in_source.is_some() {
            let Word { text, span } = self.whole();
            return Some(PendingCommand::Ready(CommandLine::Shell {
                command: ShellText::new(text, span, self.args.map.slice(start, end)),
            }));
        }
        let text = self.args.borrowed(self.text, 0, self.text.len());
        let span = self.args.map.span(start, end);
        let map = self.args.map.slice(start, end);
        Some(match text {
            Some(text) => PendingCommand::Ready(CommandLine::Shell {
                command: ShellText::new(text, span, map),
            }),
            None => PendingCommand::Shell {
                range: start..end,
                span,
                map,
            },
        })
    }

    /// The pairs of ENV or LABEL (`parseNameVal`, then `parseKvps`): `k=v`
    /// words, or the legacy `k v` (key, then the rest).
    fn key_values(&self) -> Option<ShortVec<KeyValue<'a>>> {
        let text = self.text;
        let mut words = Words::new(text, self.args.escape);
        let first = words.next()?;
        // Words are short: byte scans for `=` beat the searcher's set-up.
        if !text.as_bytes()[first.0..first.1].contains(&b'=') {
            let (bs, be) = find_blank_run(text, 0)?;
            return Some(ShortVec::one(KeyValue {
                key: self.word(&text[..bs], 0, bs),
                value: self.word(&text[be..], be, text.len()),
                legacy: true,
            }));
        }
        let mut pairs = ShortVec::new();
        for (s, e) in std::iter::once(first).chain(words) {
            let eq = text.as_bytes()[s..e].iter().position(|&b| b == b'=')?;
            if eq == 0 {
                // A blank name: an error.
                return None;
            }
            pairs.push(KeyValue {
                key: self.word(&text[s..s + eq], s, s + eq),
                value: self.word(&text[s + eq + 1..e], s + eq + 1, e),
                legacy: false,
            });
        }
        Some(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    /// Takes what the direct path makes and drops it.
    struct Discard;

    impl<'a> Emit<'a> for Discard {
        fn emit_with(&mut self, _: impl FnOnce() -> Instruction<'a>) {}
        fn emit_from(&mut self, _: impl FnOnce() -> FromInstruction<'a>) {}
    }

    /// Whether the direct path takes the one-line instruction `text`.
    fn taken(text: &str) -> bool {
        let map = LineMap::contiguous(0, text.len());
        let at = LineSite {
            source: text,
            source_is_ascii: text.is_ascii(),
            escape: '\\',
            span: Span::new(0, text.len()),
            start_line: 1,
            end_line: 1,
        };
        instruction(&mut Cow::Borrowed(text), &map, &at, Discard).is_some()
    }

    /// Whether [`continued_command`] takes the (one, continued) instruction
    /// after `FROM x` in `text`, as the line layer offers it.
    fn continued_taken(text: &str) -> bool {
        struct Offered(Option<bool>);
        impl<'a> crate::dockerfile::lines::NodeSink<'a> for Offered {
            fn take_line(&mut self, _: &mut Cow<'a, str>, _: &LineMap, _: &LineSite<'a>) -> bool {
                false
            }
            fn take_continued(
                &mut self,
                first: &'a str,
                pieces: &[(usize, usize)],
                map: &LineMap,
                at: &LineSite<'a>,
            ) -> bool {
                let taken = continued_command(first, pieces, map, at, Discard).is_some();
                self.0 = Some(taken);
                taken
            }
            fn node(&mut self, _: crate::dockerfile::Node<'a>) {}
        }
        let src = crate::source::SourceFile::new("t", format!("FROM x\n{text}"));
        let mut offered = Offered(None);
        crate::dockerfile::lines::scan_nodes(&src, &mut offered).unwrap();
        offered
            .0
            .unwrap_or_else(|| panic!("{text:?} not offered as a continued instruction"))
    }

    #[test]
    fn takes_continued_shell_commands_without_joining() {
        for text in [
            "RUN set -eux; \\\n    apt-get update\n",
            "RUN \\\n    apt-get update\n",
            "run --mount=type=cache,target=/root/.cache \\\n  go build ./...\n",
            "RUN --network=none --mount=type=cache,target=/x \\\n  make\n",
            "RUN a \\\n# a comment\n  b\n",
            "CMD echo \\\n  hello\n",
            "ENTRYPOINT exec \\\n  app\n",
            "RUN a < b \\\n  c\n",
            "RUN a \\\n  -b\n",
            "RUN caf\u{e9} \\\n  cr\u{e8}me\n",
            // Flags over several lines, before the command.
            "RUN --network=none \\\n  --mount=type=cache,target=/x make\n",
            "RUN --mount=type=cache,target=/a \\\n    --mount=type=tmpfs,target=/b \\\n    make \\\n    && make install\n",
            "RUN --mount=type=cache,target=/a \\\n# a comment\n  --network=none \\\n  make\n",
        ] {
            assert!(continued_taken(text), "{text:?}");
        }
    }

    #[test]
    fn leaves_other_continued_lines_to_be_joined() {
        for text in [
            // Not a shell-form command.
            "COPY a \\\n  b\n",
            "RUN \\\n  [\"a\"]\n",
            // A heredoc, in a line or across two.
            "RUN a <<EOF \\\n  b\nEOF\n",
            "RUN a <\\\n<EOF\nEOF\n",
            // The keyword or a flag may go on in the next line.
            "RU\\\nN a\n",
            "RUN\\\n a\n",
            "RUN --mount=type=cache,target=/x\\\n,sharing=locked make\n",
            // Flags after a first line without any, flags BuildKit's scan
            // must read, a flag that may go on in the next line, a lone
            // `--` and then a flag, no command.
            "RUN \\\n  --network=none make\n",
            "RUN --mount=\"type=cache\" \\\n  make\n",
            "RUN --network=none \\\n  \"make\"\n",
            "RUN --network=none \\\n  --mount=\"type=cache\" make\n",
            "RUN --network=none \\\n  --mount=type=cache\\\n,target=/x make\n",
            "RUN --network=none \\\n  -- --x make\n",
            "RUN --network=none \\\n  --mount=type=cache,target=/x \\\n",
            // White space Go trims and we do not; no command at all.
            "RUN \u{a0}x \\\n  b\n",
            "RUN x \\\n  b\u{a0}\n",
            "RUN --network=none \\\n  \\\n",
            // Errors: a flag RUN does not take, flags on CMD.
            "RUN --bogus a \\\n  b\n",
            "CMD --x=1 a \\\n  b\n",
        ] {
            assert!(!continued_taken(text), "{text:?}");
        }
    }

    #[test]
    fn takes_the_common_shapes() {
        for text in [
            "FROM alpine",
            "FROM --platform=$BUILDPLATFORM golang:1.22 AS build",
            "RUN apt-get update && apt-get install -y curl",
            "RUN --mount=type=cache,target=/root/.cache go build ./...",
            "RUN [\"/bin/sh\", \"-c\", \"true\"]",
            "CMD [\"nginx\", \"-g\", \"daemon off;\"]",
            "ENTRYPOINT /entrypoint.sh",
            "COPY --from=build /out/app /usr/local/bin/app",
            "COPY [\"a\", \"b\"]",
            "ENV A=1 B=\"two words\"",
            "ENV LEGACY some value",
            "LABEL org.opencontainers.image.source=x",
            "ARG VERSION=1.0 OTHER",
            "WORKDIR /app",
            "USER 1000:1000",
            "EXPOSE 443 80/tcp",
            "ADD --chmod=0644 https://example.com/key.asc /etc/apt/keyrings/",
            "ADD [\"a b\", \"/c/\"]",
            "VOLUME /var/lib/data /cache",
            "VOLUME [\"/var/cache/nginx\"]",
            "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]",
            "STOPSIGNAL SIGQUIT",
            "MAINTAINER Jane Doe <jane@example.com>",
            "ONBUILD RUN pip install -r requirements.txt",
            "onbuild COPY . /usr/src/app",
            "ONBUILD ARG VERSION",
        ] {
            assert!(taken(text), "{text}");
        }
    }

    #[test]
    fn leaves_the_rest_to_the_node_path() {
        for text in [
            // Other instructions.
            "HEALTHCHECK CMD true",
            "BOGUS x",
            // ONBUILD that is an error, or whose trigger is not taken.
            "ONBUILD ONBUILD RUN x",
            "ONBUILD FROM alpine",
            "ONBUILD MAINTAINER me",
            "ONBUILD --x RUN y",
            "ONBUILD HEALTHCHECK CMD true",
            "ONBUILD BOGUS x",
            "ONBUILD RUN <<EOF",
            "ONBUILD COPY one",
            // Heredocs.
            "RUN <<EOF",
            "COPY <<EOF /dst",
            "ADD <<EOF /dst",
            // Errors and warnings.
            "RUN",
            "RUN --bogus x",
            "RUN --mount=type=bogus x",
            "CMD --x=1 y",
            "ARG --x=1 y",
            "FROM a b",
            "FROM a AS 1bad",
            "COPY one",
            "COPY [\"\\u003c\\u003cEOF\", \"/dst\"]",
            "ENV =x",
            "ENV a=b c",
            "ENV alone",
            "CMD [1, 2]",
            "ADD --from=x a b",
            "VOLUME [\" /data\"]",
            "VOLUME [\"\"]",
            "VOLUME []",
            "SHELL /bin/sh -c",
            "SHELL []",
            "STOPSIGNAL --x SIGTERM",
            "MAINTAINER --x me",
            // Not ASCII.
            "RUN echo caf\u{e9}",
        ] {
            assert!(!taken(text), "{text}");
        }
    }
}
