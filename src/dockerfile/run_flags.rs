//! The values of RUN's flags: `--mount`, `--network`, `--security` and
//! `--device`, validated like BuildKit validates them.
//!
//! BuildKit checks a mount in two passes: when the Dockerfile is parsed
//! (the CSV syntax, and that `from=` has no variable) and again when the
//! build runs, after `${}` expansion (keys, values, and which keys fit which
//! mount type). Since expansion belongs to a later layer here, the second
//! pass runs at parse time on every value that expansion cannot change (no
//! `$`, quote or escape character) and skips the checks that depend on a
//! value that it could change; [`RunMount::resolve`] runs it in full once
//! the values are expanded. `--network` and `--security` are checked as
//! written, as BuildKit does (it never expands them).

use std::borrow::Cow;

use serde::Serialize;

use super::byte_masks::{MountValueBytes, bits_between};
use super::go_text::quote;
use super::instructions::Word;
use super::line_map::LineMap;
use super::nodes::cow_slice;
use crate::source::Span;

/// The type of a RUN mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }

    /// The type a `type=` value names, in any ASCII case.
    fn parse(s: &str) -> Option<Self> {
        [
            MountType::Bind,
            MountType::Cache,
            MountType::Tmpfs,
            MountType::Secret,
            MountType::Ssh,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// How concurrent builds share a cache mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

/// One `key=value` (or bare `key`) field of a `--mount` value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MountField<'a> {
    /// The field as written in the CSV (after CSV unquoting).
    pub field: Cow<'a, str>,
    /// The key, lower-cased.
    pub key: Cow<'a, str>,
    /// The value after `=`, unexpanded; `None` for a bare key.
    pub value: Option<Word<'a>>,
    pub span: Span,
}

impl<'a> MountField<'a> {
    /// The field `csv` of the mount value `value`; see [`RunMount::parse`]
    /// for `value_offset` and `map`.
    fn new(csv: CsvField, value: &Word<'a>, value_offset: Option<usize>, map: &LineMap) -> Self {
        let (field, at) = FieldAt::of_csv(csv, &value.text);
        Self::at(field, at, value, value_offset, map)
    }

    /// The field `field` of the mount value `value`, at `at.start..at.end`
    /// of it (in the CSV record; see [`RunMount::parse`] for
    /// `value_offset` and `map`).
    fn at(
        field: Cow<'a, str>,
        at: FieldAt,
        value: &Word<'a>,
        value_offset: Option<usize>,
        map: &LineMap,
    ) -> Self {
        let FieldAt {
            start,
            end,
            quoted,
            eq,
            key_has_upper,
        } = at;
        // Offsets into the source are exact only for a field written as is.
        let exact = value_offset.filter(|_| !quoted);
        let (span, value_span) = match exact {
            None => (value.span, Some(value.span)),
            Some(o) => field_spans(map, o + start, o + end, eq.map(|eq| o + start + eq + 1)),
        };
        let (key, text) = key_and_value(&field, eq, key_has_upper);
        // A value (after an `=`) always has a span.
        let value = text.zip(value_span).map(|(text, span)| Word { text, span });
        MountField {
            field,
            key,
            value,
            span,
        }
    }
}

/// Where a field lies in a mount's CSV record, and what its parse needs to
/// know of its bytes.
struct FieldAt {
    start: usize,
    end: usize,
    /// The field was quoted (its text is not the record's bytes).
    quoted: bool,
    /// Where its first `=` is, in the field's text.
    eq: Option<usize>,
    /// Its key (before the `=`) has an ASCII upper-case letter.
    key_has_upper: bool,
}

impl FieldAt {
    /// The text and place of the CSV field `csv` of `record`.
    fn of_csv<'a>(csv: CsvField, record: &Cow<'a, str>) -> (Cow<'a, str>, Self) {
        let (start, end, quoted) = (csv.start, csv.end, csv.quoted);
        let field = csv.into_text(record);
        // A key is a few bytes: a plain scan beats `memchr`'s setup.
        let eq = field.bytes().position(|b| b == b'=');
        let key = field.get(..eq.unwrap_or(field.len())).unwrap_or_default();
        let key_has_upper = key.bytes().any(|b| b.is_ascii_uppercase());
        let at = FieldAt {
            start,
            end,
            quoted,
            eq,
            key_has_upper,
        };
        (field, at)
    }
}

/// A field's key, lower-cased, and its value (after its first `=`, at
/// `eq`; none for a bare key), borrowing when `field` borrows.
fn key_and_value<'a>(
    field: &Cow<'a, str>,
    eq: Option<usize>,
    key_has_upper: bool,
) -> (Cow<'a, str>, Option<Cow<'a, str>>) {
    let (key, value) = match eq {
        Some(eq) => {
            let (key, value) = split_at_eq(field, eq);
            (key, Some(value))
        }
        None => (field.clone(), None),
    };
    let key = if key_has_upper {
        Cow::Owned(key.to_ascii_lowercase())
    } else {
        key
    };
    (key, value)
}

/// The source spans of a field at `start..end` of the joined text and of
/// its value, which starts at `value_start`. Each is what [`LineMap::span`]
/// gives, but a field that one line holds whole (nearly all of them) needs
/// one lookup instead of two.
fn field_spans(
    map: &LineMap,
    start: usize,
    end: usize,
    value_start: Option<usize>,
) -> (Span, Option<Span>) {
    match (map.contiguous_range(start, end), value_start) {
        (Some(range), None) => (Span::new(range.start, range.end), None),
        // An empty value at the end of a line would map to the start of
        // the next one: left to `LineMap::span`.
        (Some(range), Some(v)) if v < end => (
            Span::new(range.start, range.end),
            Some(Span::new(range.start + (v - start), range.end)),
        ),
        _ => (map.span(start, end), value_start.map(|v| map.span(v, end))),
    }
}

/// `field` cut around the `=` at `eq`, borrowing when `field` borrows.
fn split_at_eq<'a>(field: &Cow<'a, str>, eq: usize) -> (Cow<'a, str>, Cow<'a, str>) {
    fn split(s: &str, eq: usize) -> (&str, &str) {
        (
            s.get(..eq).unwrap_or_default(),
            s.get(eq + 1..).unwrap_or_default(),
        )
    }
    match field {
        Cow::Borrowed(s) => {
            let (key, value) = split(s, eq);
            (Cow::Borrowed(key), Cow::Borrowed(value))
        }
        Cow::Owned(s) => {
            let (key, value) = split(s, eq);
            (Cow::Owned(key.to_owned()), Cow::Owned(value.to_owned()))
        }
    }
}

/// A fully checked mount, with expanded values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mount<'a> {
    pub mount_type: MountType,
    pub from: Option<Cow<'a, str>>,
    pub source: Option<Cow<'a, str>>,
    pub target: Option<Cow<'a, str>>,
    pub read_only: bool,
    /// tmpfs `size`, in bytes.
    pub size_limit: Option<i64>,
    /// Cache or secret `id`.
    pub id: Option<Cow<'a, str>>,
    pub sharing: Option<CacheSharing>,
    /// secret/ssh `required`.
    pub required: bool,
    /// secret `env`: expose the secret as this environment variable.
    pub env: Option<Cow<'a, str>>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// One `--mount` flag of a RUN.
///
/// Its fields ([`RunMount::fields`]) are split again from the value when
/// asked for: a parse checks each field as it is split and keeps only the
/// mount, since nearly every reader wants the mount and a field list per
/// mount cost an allocation, and the building of every field's spans, for
/// each `--mount` of a Dockerfile.
#[derive(Clone)]
pub struct RunMount<'a> {
    /// The flag value as given (after `--mount=`), unexpanded.
    pub value: Word<'a>,
    /// The mount, when no value needs expansion; otherwise call
    /// [`RunMount::resolve`] with the expanded values.
    pub mount: Option<Mount<'a>>,
    /// Where the value sits in the text its flag was read from, for the
    /// fields' spans (see [`RunMount::parse`]).
    value_offset: Option<usize>,
    map: LineMap,
}

impl PartialEq for RunMount<'_> {
    /// Mounts are equal when their value, fields and mount are, however
    /// the fields' places are kept.
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.mount == other.mount && self.fields() == other.fields()
    }
}

impl Eq for RunMount<'_> {}

impl std::fmt::Debug for RunMount<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunMount")
            .field("value", &self.value)
            .field("fields", &self.fields())
            .field("mount", &self.mount)
            .finish()
    }
}

impl Serialize for RunMount<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("RunMount", 3)?;
        out.serialize_field("value", &self.value)?;
        out.serialize_field("fields", &self.fields())?;
        out.serialize_field("mount", &self.mount)?;
        out.end()
    }
}

impl<'a> RunMount<'a> {
    /// Parse and check a `--mount` value. `value_offset` is where the value
    /// sits in the instruction's joined text when it was written literally
    /// (so field spans can be exact), `map` that text's map.
    pub fn parse(
        value: Word<'a>,
        value_offset: Option<usize>,
        map: &LineMap,
    ) -> Result<Self, String> {
        let mut one = Vec::with_capacity(1);
        Self::parse_into(value, value_offset, map, &mut one)?;
        one.pop().ok_or_else(|| "no mount".to_string())
    }

    /// [`Self::parse`], the mount pushed onto `mounts`. It is checked where
    /// it lies in the vector: a `RunMount` is about 300 bytes, and each
    /// move of one (out of the checks, out of a `Result`, into the vector)
    /// is a copy of all of them.
    pub(crate) fn parse_into(
        value: Word<'a>,
        value_offset: Option<usize>,
        map: &LineMap,
        mounts: &mut Vec<Self>,
    ) -> Result<(), String> {
        mounts.push(RunMount {
            value,
            mount: Some(Mount::unset()),
            value_offset,
            map: map.clone(),
        });
        let Some(RunMount { value, mount, .. }) = mounts.last_mut() else {
            return Ok(());
        };
        let Some(m) = mount.as_mut() else {
            return Ok(());
        };
        let checked = match MountValueBytes::of(value.text.as_bytes()) {
            Some(bytes) if bytes.quote == 0 && !value.text.is_empty() => {
                check_unquoted(&value.text, &bytes, m)
            }
            _ => check_csv(&value.text, m),
        };
        match checked {
            Ok(true) => {}
            Ok(false) => *mount = None,
            Err(e) => {
                mounts.pop();
                return Err(e);
            }
        }
        Ok(())
    }

    /// The `key=value` (or bare `key`) fields of the value, with their
    /// spans in the source.
    pub fn fields(&self) -> Vec<MountField<'a>> {
        let (value, offset, map) = (&self.value, self.value_offset, &self.map);
        let mut fields = Vec::new();
        match MountValueBytes::of(value.text.as_bytes()) {
            Some(bytes) if bytes.quote == 0 && !value.text.is_empty() => {
                for_each_unquoted_field(&value.text, &bytes, |field, at| {
                    fields.push(MountField::at(field, at, value, offset, map));
                });
            }
            _ => {
                // The value parsed, so its CSV splits without an error.
                let csv = CsvFields::new(&value.text).into_iter().flatten();
                for f in csv.map_while(Result::ok) {
                    fields.push(MountField::new(f, value, offset, map));
                }
            }
        }
        fields
    }

    /// Check the mount with every value expanded by `expand` (BuildKit's
    /// second pass).
    pub fn resolve(
        &self,
        mut expand: impl FnMut(&Word<'a>) -> Result<String, String>,
    ) -> Result<Mount<'a>, String> {
        let mut mount = Mount::unset();
        let mut checks = MountChecks::new(&mut mount);
        // The parse checked every key, so a value is expanded only for a
        // known key, as BuildKit does.
        for f in self.fields() {
            let value = match &f.value {
                None => FieldValue::Bare,
                Some(w) => FieldValue::Known(Cow::Owned(expand(w)?)),
            };
            checks.field(&f.key, &f.field, value)?;
        }
        if checks.finish()? {
            Ok(mount)
        } else {
            Err("mount could not be resolved".to_string())
        }
    }
}

/// The fields of `text`, a mount value with no CSV quote and at most 128
/// bytes long (nearly all of them) whose bytes are `bytes`, given to
/// `each` in order: split at its commas, with their `=` and upper-case
/// keys read off the masks, with no loop over bytes.
#[allow(
    clippy::ptr_arg,
    reason = "a borrowed `Cow` gives fields that borrow from the source"
)]
fn for_each_unquoted_field<'a>(
    text: &Cow<'a, str>,
    bytes: &MountValueBytes<u128>,
    mut each: impl FnMut(Cow<'a, str>, FieldAt),
) {
    let len = text.len();
    let mut commas = bytes.comma;
    let mut start = 0;
    loop {
        // A comma at the very end still opens one last, empty field.
        let end = match commas {
            0 => len,
            c => c.trailing_zeros() as usize,
        };
        commas &= commas.wrapping_sub(1);
        let eq = match bytes.eq & bits_between(start, end) {
            0 => None,
            e => Some(e.trailing_zeros() as usize - start),
        };
        let key_end = eq.map_or(end, |eq| start + eq);
        let at = FieldAt {
            start,
            end,
            quoted: false,
            eq,
            key_has_upper: bytes.upper & bits_between(start, key_end) != 0,
        };
        each(cow_slice(text, start..end), at);
        if end >= len {
            break;
        }
        start = end + 1;
    }
}

/// The parse-time checks of a mount value with no CSV quote (see
/// [`for_each_unquoted_field`]): each field is checked as it is split.
/// With nothing expansion reads anywhere in the value, every field's value
/// is literal.
#[allow(
    clippy::ptr_arg,
    reason = "a borrowed `Cow` gives fields that borrow from the source"
)]
fn check_unquoted<'a>(
    text: &Cow<'a, str>,
    bytes: &MountValueBytes<u128>,
    mount: &mut Mount<'a>,
) -> Result<bool, String> {
    let all_literal = bytes.expand == 0;
    let mut checks = ParseChecks::new(mount);
    for_each_unquoted_field(text, bytes, |field, at| {
        checks.field(field, &at, all_literal);
    });
    checks.finish()
}

/// [`check_unquoted`] by Go's CSV rules, quotes included.
#[allow(
    clippy::ptr_arg,
    reason = "a borrowed `Cow` gives fields that borrow from the source"
)]
fn check_csv<'a>(text: &Cow<'a, str>, mount: &mut Mount<'a>) -> Result<bool, String> {
    let csv_error = |e: String| format!("failed to parse csv mounts: {e}");
    let mut checks = ParseChecks::new(mount);
    // BuildKit reports a `from=` with a variable only once the whole CSV
    // record has parsed, so a CSV error later in it wins.
    for f in CsvFields::new(text).map_err(csv_error)? {
        let (field, at) = FieldAt::of_csv(f.map_err(csv_error)?, text);
        checks.field(field, &at, false);
    }
    checks.finish()
}

/// BuildKit's checks of a mount value when the Dockerfile is parsed, fed
/// one field at a time: a `from=` with a variable is an error that wins
/// over any other (BuildKit checks it first, over the whole record), then
/// the first failed [`MountChecks`] check.
struct ParseChecks<'m, 'a> {
    checks: MountChecks<'m, 'a>,
    from_has_variable: bool,
    first_error: Option<String>,
}

impl<'m, 'a> ParseChecks<'m, 'a> {
    fn new(mount: &'m mut Mount<'a>) -> Self {
        ParseChecks {
            checks: MountChecks::new(mount),
            from_has_variable: false,
            first_error: None,
        }
    }

    /// The field `field`, at `at`; `all_literal` when no value of the
    /// mount can change with expansion.
    fn field(&mut self, field: Cow<'a, str>, at: &FieldAt, all_literal: bool) {
        let (key, value) = key_and_value(&field, at.eq, at.key_has_upper);
        if key == "from"
            && let Some(v) = &value
            && v.find('$').is_some_and(|i| i != v.len() - 1)
        {
            // A `$` anywhere but last.
            self.from_has_variable = true;
        }
        if self.first_error.is_some() {
            return;
        }
        let value = match value {
            None => FieldValue::Bare,
            Some(v) if all_literal || is_literal(&v) => FieldValue::Known(v),
            Some(_) => FieldValue::Unknown,
        };
        if let Err(e) = self.checks.field(&key, &field, value) {
            self.first_error = Some(e);
        }
    }

    /// Whether every value was known (see [`MountChecks::finish`]).
    fn finish(self) -> Result<bool, String> {
        if self.from_has_variable {
            return Err(
                "'from' doesn't support variable expansion, define alias stage instead".into(),
            );
        }
        match self.first_error {
            Some(e) => Err(e),
            None => self.checks.finish(),
        }
    }
}

/// Text that `${}` expansion leaves unchanged.
fn is_literal(s: &str) -> bool {
    // A byte test: every character it looks for is ASCII.
    !s.bytes()
        .any(|b| matches!(b, b'$' | b'\'' | b'"' | b'\\' | b'`'))
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, base, 32)`.
fn parse_u32(s: &str, radix: u32) -> Option<u32> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(s, radix).ok()
}

/// docker/go-units `RAMInBytes`: a number with an optional binary unit
/// (`k`, `m`, `g`, `t`, `p`, optionally followed by `b` or `ib`).
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let Some(sep) = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(format!("invalid size: '{s}'"));
    };
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(num)))?;
    if size < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = || format!("invalid suffix: '{}'", sfx.to_lowercase());
    if sfx.len() > 3 {
        return Err(bad());
    }
    let lower = sfx.to_ascii_lowercase();
    let b = lower.as_bytes();
    if b[0] == b'b' {
        return if b.len() > 1 {
            Err(bad())
        } else {
            Ok(size as i64)
        };
    }
    let mul: f64 = match b[0] {
        b'k' => 1024f64,
        b'm' => 1024f64.powi(2),
        b'g' => 1024f64.powi(3),
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    if (b.len() == 2 && b[1] != b'b') || (b.len() == 3 && &b[1..] != b"ib") {
        return Err(bad());
    }
    Ok((size * mul) as i64)
}

/// The keys a `--mount` value accepts, as BuildKit spells them (for "did
/// you mean" hints).
const MOUNT_KEYS: [&str; 19] = [
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// A key of [`MOUNT_KEYS`], its aliases folded into one variant.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MountKey {
    Type,
    From,
    Source,
    Target,
    ReadOnly,
    ReadWrite,
    Id,
    Sharing,
    Required,
    Size,
    Mode,
    Uid,
    Gid,
    Env,
}

impl MountKey {
    /// The key a lower-cased field key names. Read once per field, so the
    /// checks below switch on a small enum instead of comparing strings.
    fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "type" => MountKey::Type,
            "from" => MountKey::From,
            "source" | "src" => MountKey::Source,
            "target" | "dst" | "destination" => MountKey::Target,
            "readonly" | "ro" => MountKey::ReadOnly,
            "readwrite" | "rw" => MountKey::ReadWrite,
            "id" => MountKey::Id,
            "sharing" => MountKey::Sharing,
            "required" => MountKey::Required,
            "size" => MountKey::Size,
            "mode" => MountKey::Mode,
            "uid" => MountKey::Uid,
            "gid" => MountKey::Gid,
            "env" => MountKey::Env,
            _ => return None,
        })
    }
}

/// What a mount field's value is to [`MountChecks`].
enum FieldValue<'a> {
    /// A bare key, with no `=`.
    Bare,
    /// A value that expansion could change, not expanded yet: the checks
    /// that need it are skipped and no mount is made.
    Unknown,
    /// The value, expanded or literal.
    Known(Cow<'a, str>),
}

/// BuildKit's mount checks, fed one field at a time, made on a mount
/// that starts [`Mount::unset`].
struct MountChecks<'m, 'a> {
    m: &'m mut Mount<'a>,
    /// Read-only unless set: decided by the type at the end.
    ro_auto: bool,
    /// The mount type is not known until the `type=` value is.
    type_known: bool,
    /// Every value was known.
    complete: bool,
}

impl<'a> Mount<'a> {
    /// A bind mount with nothing set: what the checks start from.
    fn unset() -> Self {
        Mount {
            mount_type: MountType::Bind,
            from: None,
            source: None,
            target: None,
            read_only: false,
            size_limit: None,
            id: None,
            sharing: None,
            required: false,
            env: None,
            mode: None,
            uid: None,
            gid: None,
        }
    }
}

impl<'m, 'a> MountChecks<'m, 'a> {
    fn new(m: &'m mut Mount<'a>) -> Self {
        MountChecks {
            m,
            ro_auto: true,
            type_known: true,
            complete: true,
        }
    }

    /// The field `field`, whose lower-cased key is `key`.
    fn field(&mut self, key: &str, field: &str, value: FieldValue<'a>) -> Result<(), String> {
        let MountChecks {
            m,
            ro_auto,
            type_known,
            complete,
        } = self;
        let known = MountKey::parse(key);
        let value = match value {
            FieldValue::Bare => {
                match known {
                    Some(MountKey::ReadOnly) => {
                        m.read_only = true;
                        *ro_auto = false;
                    }
                    Some(MountKey::ReadWrite) => {
                        m.read_only = false;
                        *ro_auto = false;
                    }
                    Some(MountKey::Required) if !*type_known => *complete = false,
                    Some(MountKey::Required)
                        if matches!(m.mount_type, MountType::Secret | MountType::Ssh) =>
                    {
                        m.required = true;
                    }
                    Some(MountKey::Required) => {
                        return Err(format!(
                            "unexpected key '{key}' for mount type '{}'",
                            m.mount_type.as_str()
                        ));
                    }
                    _ => {
                        return Err(format!("invalid field '{field}' must be a key=value pair"));
                    }
                }
                return Ok(());
            }
            value => value,
        };
        let Some(known) = known else {
            let help = super::flags::suggest(key, &MOUNT_KEYS)
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(format!("unexpected key '{key}' in '{field}'{help}"));
        };
        let FieldValue::Known(value) = value else {
            *complete = false;
            match known {
                MountKey::Type => *type_known = false,
                MountKey::ReadOnly | MountKey::ReadWrite => *ro_auto = false,
                _ => {}
            }
            return Ok(());
        };
        let invalid = || format!("invalid value for {key}: {value}");
        match known {
            MountKey::Type => {
                let Some(t) = MountType::parse(&value) else {
                    return Err(format!("unsupported mount type {}", quote(&value)));
                };
                m.mount_type = t;
                *type_known = true;
            }
            MountKey::From => m.from = Some(value),
            MountKey::Source => m.source = Some(value),
            MountKey::Target => m.target = Some(value),
            MountKey::ReadOnly => {
                m.read_only = parse_go_bool(&value).ok_or_else(invalid)?;
                *ro_auto = false;
            }
            MountKey::ReadWrite => {
                m.read_only = !parse_go_bool(&value).ok_or_else(invalid)?;
                *ro_auto = false;
            }
            MountKey::Required => {
                if !*type_known {
                    *complete = false;
                } else if matches!(m.mount_type, MountType::Secret | MountType::Ssh) {
                    m.required = parse_go_bool(&value).ok_or_else(invalid)?;
                } else {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.mount_type.as_str()
                    ));
                }
            }
            MountKey::Size => {
                if !*type_known {
                    *complete = false;
                } else if m.mount_type == MountType::Tmpfs {
                    m.size_limit = Some(ram_in_bytes(&value).map_err(|_| invalid())?);
                } else {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.mount_type.as_str()
                    ));
                }
            }
            MountKey::Id => m.id = Some(value),
            MountKey::Sharing => {
                let is = |name: &str| value.eq_ignore_ascii_case(name);
                m.sharing = Some(if is("shared") {
                    CacheSharing::Shared
                } else if is("private") {
                    CacheSharing::Private
                } else if is("locked") {
                    CacheSharing::Locked
                } else {
                    return Err(format!("unsupported sharing value {}", quote(&value)));
                });
            }
            MountKey::Mode => {
                m.mode = Some(
                    parse_u32(&value, 8)
                        .ok_or_else(|| format!("invalid value {value} for mode"))?,
                );
            }
            MountKey::Uid => {
                m.uid = Some(
                    parse_u32(&value, 10)
                        .ok_or_else(|| format!("invalid value {value} for uid"))?,
                );
            }
            MountKey::Gid => {
                m.gid = Some(
                    parse_u32(&value, 10)
                        .ok_or_else(|| format!("invalid value {value} for gid"))?,
                );
            }
            MountKey::Env => m.env = Some(value),
        }
        Ok(())
    }

    /// The last checks, once every field is in: whether the mount is
    /// complete (`false` when a value was not known).
    fn finish(self) -> Result<bool, String> {
        let MountChecks {
            m,
            ro_auto,
            type_known,
            complete,
        } = self;
        if !type_known {
            return Ok(false);
        }
        let t = m.mount_type;
        let file_info_allowed = matches!(t, MountType::Secret | MountType::Ssh | MountType::Cache);
        for (set, what) in [
            (m.mode.is_some(), "mode"),
            (m.uid.is_some(), "uid"),
            (m.gid.is_some(), "gid"),
        ] {
            if set && !file_info_allowed {
                return Err(format!(
                    "{what} not allowed for {} type mounts",
                    quote(t.as_str())
                ));
            }
        }
        if ro_auto {
            m.read_only = !matches!(t, MountType::Cache | MountType::Tmpfs);
        }
        if m.sharing.is_some() && t != MountType::Cache {
            return Err(format!(
                "invalid cache sharing set for {} mount",
                t.as_str()
            ));
        }
        if t == MountType::Secret {
            if m.from.is_some() {
                return Err("secret mount should not have a from".into());
            }
            if m.sharing.is_some() {
                return Err("secret mount should not define sharing".into());
            }
            if complete
                && m.source.is_none()
                && m.target.is_none()
                && m.id.is_none()
                && m.env.is_none()
            {
                return Err("invalid secret mount. one of source, target required".into());
            }
            if m.source.is_some() && m.id.is_some() {
                return Err("both source and id can't be set".into());
            }
        }
        Ok(complete)
    }
}

/// One field of a CSV record: its byte range in the record and, for a
/// quoted field, its unquoted text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvField {
    pub start: usize,
    pub end: usize,
    pub quoted: bool,
    unquoted: Option<String>,
}

impl CsvField {
    /// The field's text, `record` being the text given to [`parse_csv`].
    pub fn text<'r>(&'r self, record: &'r str) -> &'r str {
        match &self.unquoted {
            Some(text) => text,
            None => record.get(self.start..self.end).unwrap_or_default(),
        }
    }

    /// The field's text, borrowed from `record` when it is a slice of it.
    pub fn into_text<'a>(self, record: &Cow<'a, str>) -> Cow<'a, str> {
        match self.unquoted {
            Some(text) => Cow::Owned(text),
            None => cow_slice(record, self.start..self.end),
        }
    }
}

/// Split one CSV record (Go's `encoding/csv` rules, one line) into fields.
pub fn parse_csv(s: &str) -> Result<Vec<CsvField>, String> {
    CsvFields::new(s)?.collect()
}

/// The fields of one CSV record, split one at a time so that a caller can
/// build its own per-field values without an intermediate vector.
pub struct CsvFields<'r> {
    record: &'r str,
    /// Where the next field starts.
    pos: usize,
    /// Set once the last field (or an error) has been yielded.
    done: bool,
}

impl<'r> CsvFields<'r> {
    /// The splitter for `record`; an empty record is an error, as for Go's
    /// reader (which sees no record at all).
    pub fn new(record: &'r str) -> Result<Self, String> {
        if record.is_empty() {
            return Err("empty value".into());
        }
        Ok(CsvFields {
            record,
            pos: 0,
            done: false,
        })
    }

    /// The quoted field starting at `self.pos`: its unquoted text and the
    /// offset just after its closing quote.
    fn quoted(&self) -> Result<(String, usize), String> {
        let bytes = self.record.as_bytes();
        let mut text = String::new();
        let mut i = self.pos + 1;
        loop {
            let Some(q) = bytes.get(i..).and_then(|rest| memchr::memchr(b'"', rest)) else {
                return Err("extraneous or missing \" in quoted-field".into());
            };
            text.push_str(self.record.get(i..i + q).unwrap_or_default());
            i += q + 1;
            // A doubled quote stands for one quote inside the field.
            if bytes.get(i) == Some(&b'"') {
                text.push('"');
                i += 1;
                continue;
            }
            return Ok((text, i));
        }
    }
}

impl Iterator for CsvFields<'_> {
    type Item = Result<CsvField, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let bytes = self.record.as_bytes();
        let start = self.pos;
        let (field, end) = if bytes.get(start) == Some(&b'"') {
            let (text, end) = match self.quoted() {
                Ok(q) => q,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if end < bytes.len() && bytes.get(end) != Some(&b',') {
                self.done = true;
                return Some(Err("extraneous or missing \" in quoted-field".into()));
            }
            let field = CsvField {
                start,
                end,
                quoted: true,
                unquoted: Some(text),
            };
            (field, end)
        } else {
            // One scan finds the field's end and any quote before it.
            let rest = bytes.get(start..).unwrap_or_default();
            let end = match memchr::memchr2(b',', b'"', rest) {
                Some(i) if rest.get(i) == Some(&b'"') => {
                    self.done = true;
                    return Some(Err("bare \" in non-quoted-field".into()));
                }
                Some(i) => start + i,
                None => bytes.len(),
            };
            let field = CsvField {
                start,
                end,
                quoted: false,
                unquoted: None,
            };
            (field, end)
        };
        // A comma at the very end still opens one last, empty field.
        if end == bytes.len() {
            self.done = true;
        } else {
            self.pos = end + 1;
        }
        Some(Ok(field))
    }
}

/// `--network` modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    #[default]
    Default,
    None,
    Host,
}

impl NetworkMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(NetworkMode::Default),
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            _ => Err(format!("invalid network mode {}", quote(s))),
        }
    }
}

/// `--security` modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecurityMode {
    #[default]
    Sandbox,
    Insecure,
}

impl SecurityMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "sandbox" => Ok(SecurityMode::Sandbox),
            "insecure" => Ok(SecurityMode::Insecure),
            _ => Err(format!("security {} is not valid", quote(s))),
        }
    }
}

/// A `--device` flag: a CDI device name, optionally required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunDevice<'a> {
    pub value: Word<'a>,
    pub name: String,
    pub required: bool,
}

impl<'a> RunDevice<'a> {
    /// BuildKit's `ParseDevice`.
    pub fn parse(value: Word<'a>) -> Result<Self, String> {
        let fields =
            parse_csv(&value.text).map_err(|e| format!("failed to parse csv devices: {e}"))?;
        let mut name = String::new();
        let mut required = false;
        for f in fields {
            let field = f.text(&value.text);
            let (key, val) = match field.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
                None => (field.to_ascii_lowercase(), None),
            };
            match (key.as_str(), val) {
                ("required", None) => required = true,
                (_, None) if name.is_empty() => name = field.to_string(),
                (_, None) => {
                    return Err(format!("invalid field '{field}' must be a key=value pair"));
                }
                ("name", Some(v)) => {
                    if !name.is_empty() {
                        return Err(format!("device name already set to {name}"));
                    }
                    name = v.to_string();
                }
                ("required", Some(v)) => {
                    required = parse_go_bool(v)
                        .ok_or_else(|| format!("invalid value for required: {v}"))?;
                }
                (_, Some(_)) if name.is_empty() => name = field.to_string(),
                (k, Some(_)) => return Err(format!("unexpected key '{k}' in '{field}'")),
            }
        }
        Ok(RunDevice {
            value,
            name,
            required,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_mount_key_is_known() {
        // The hint list and the key enum must name the same keys.
        for key in MOUNT_KEYS {
            assert!(MountKey::parse(key).is_some(), "{key}");
        }
        assert!(MountKey::parse("targets").is_none());
    }

    fn mount(v: &str) -> Result<RunMount<'_>, String> {
        let map = LineMap::contiguous(0, v.len());
        RunMount::parse(
            Word {
                text: Cow::Owned(v.to_string()),
                span: Span::new(0, v.len()),
            },
            Some(0),
            &map,
        )
    }

    proptest::proptest! {
        /// The masked parse of a value without quotes gives what the CSV
        /// parse gives: fields, spans, mount and errors; borrowed or
        /// owned, at an exact offset or not, in a map of several pieces.
        #[test]
        fn unquoted_values_parse_as_csv_does(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "type=", "TYPE=", "cache", "bind", "tmpfs", "secret", ",", "=", "target=/x",
                "from=$a", "from=b$", "From=s", "id=k", "ro", "rw=false", "sharing=LOCKED",
                "mode=0755", "size=1g", "uid=1", "required", "src='a'", "dst=\\x", "env=`v`",
                "Z", "caf\u{e9}", "/very/long/path/of/many/bytes",
            ][..]), 0..12),
            owned: bool,
            exact: bool,
            split_at in 0usize..200,
        ) {
            let v: String = parts.concat();
            proptest::prop_assume!(v.len() <= 128);
            let text = if owned { Cow::Owned(v.clone()) } else { Cow::Borrowed(v.as_str()) };
            let word = Word { text, span: Span::new(3, 3 + v.len()) };
            // The value inside a map of two pieces, split somewhere.
            let cut = split_at.min(v.len());
            let map = LineMap::from_pieces(0, &[(3, cut), (cut + 10, v.len() - cut + 5)]);
            let offset = exact.then_some(0);
            let bytes = MountValueBytes::of(v.as_bytes()).unwrap();
            proptest::prop_assume!(bytes.quote == 0 && !v.is_empty());
            let (mut by_masks, mut by_csv) = (Mount::unset(), Mount::unset());
            proptest::prop_assert_eq!(
                check_unquoted(&word.text, &bytes, &mut by_masks),
                check_csv(&word.text, &mut by_csv)
            );
            proptest::prop_assert_eq!(by_masks, by_csv);
            let mut masked = Vec::new();
            for_each_unquoted_field(&word.text, &bytes, |field, at| {
                masked.push(MountField::at(field, at, &word, offset, &map));
            });
            let csv: Vec<MountField> = CsvFields::new(&word.text)
                .unwrap()
                .map(|f| MountField::new(f.unwrap(), &word, offset, &map))
                .collect();
            proptest::prop_assert_eq!(&masked, &csv);
            // A mount that parses gives the same fields again.
            if let Ok(m) = RunMount::parse(word.clone(), offset, &map) {
                proptest::prop_assert_eq!(m.fields(), masked);
            }
        }
    }

    #[test]
    fn checks_literal_mounts() {
        let m = mount("type=cache,target=/root/.cache,sharing=locked,mode=0755")
            .unwrap()
            .mount
            .unwrap();
        assert_eq!(m.mount_type, MountType::Cache);
        assert_eq!(m.mode, Some(0o755));
        assert!(!m.read_only);
        let b = mount("target=/src").unwrap().mount.unwrap();
        assert!(b.read_only);
        let t = mount("type=tmpfs,target=/t,size=64m")
            .unwrap()
            .mount
            .unwrap();
        assert_eq!(t.size_limit, Some(64 << 20));
        assert!(
            mount("type=bogus")
                .unwrap_err()
                .contains("unsupported mount type")
        );
        assert!(
            mount("type=bind,mode=0600")
                .unwrap_err()
                .contains("mode not allowed")
        );
        assert!(
            mount("type=secret")
                .unwrap_err()
                .contains("one of source, target")
        );
        assert!(
            mount("required,type=secret,id=a")
                .unwrap_err()
                .contains("unexpected key")
        );
        assert!(
            mount("type=secret,id=a,required")
                .unwrap()
                .mount
                .unwrap()
                .required
        );
        assert!(
            mount("tpye=cache")
                .unwrap_err()
                .contains("unexpected key 'tpye'")
        );
        assert!(mount("type=cache,\"target=/a,b\"").unwrap().mount.is_some());
        assert!(mount("type=cache,ta\"rget").is_err());
    }

    #[test]
    fn field_spans_match_line_map_spans() {
        // 18 joined bytes from offset 0, then 5 from offset 30: every
        // field, with and without a value, on one line or across both.
        let map = LineMap::from_pieces(0, &[(0, 18), (30, 5)]);
        let mut failures = Vec::new();
        for start in 0..=24 {
            for end in start..=24 {
                let values = std::iter::once(None).chain((start..=end).map(Some));
                for value_start in values {
                    let got = field_spans(&map, start, end, value_start);
                    let want = (map.span(start, end), value_start.map(|v| map.span(v, end)));
                    if got != want {
                        failures.push((start, end, value_start, got, want));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn defers_expanded_values() {
        let m = mount("type=cache,target=$HOME/.cache").unwrap();
        assert!(m.mount.is_none());
        let resolved = m.resolve(|w| Ok(w.text.replace("$HOME", "/root"))).unwrap();
        assert_eq!(resolved.target.as_deref(), Some("/root/.cache"));
        assert!(mount("from=$STAGE").unwrap_err().contains("alias stage"));
        // A `from=` with a variable wins over an earlier failed check, and
        // a CSV error anywhere wins over both, as in BuildKit.
        assert!(mount("tpye=x,from=$S").unwrap_err().contains("alias stage"));
        assert!(
            mount("tpye=x,\"from=$S\"")
                .unwrap_err()
                .contains("alias stage")
        );
        assert!(mount("from=$S,tpye=x").unwrap_err().contains("alias stage"));
        assert!(mount("tpye=x,from=$S,a\"b").unwrap_err().contains("csv"));
        assert!(
            mount("tpye=x,from=a$")
                .unwrap_err()
                .contains("unexpected key")
        );
        assert!(mount("type=$T,size=1").unwrap().mount.is_none());
    }

    #[test]
    fn parses_sizes_like_go_units() {
        assert_eq!(ram_in_bytes("1024"), Ok(1024));
        assert_eq!(ram_in_bytes("1k"), Ok(1024));
        assert_eq!(ram_in_bytes("1.5 GiB"), Ok(1_610_612_736));
        assert!(ram_in_bytes("1x").is_err());
        assert!(ram_in_bytes("k").is_err());
    }
}
