//! The render cache: what makes a scrape cost about what sending bytes
//! costs plus rendering the workspaces that changed since the last one
//! (BENCHMARKS.md).
//!
//! The large part of the exposition (inventory and jobs) is cached per
//! workspace and family: each piece is one family's samples of one
//! workspace, without the family's metadata, rendered again only when that
//! workspace's snapshot changes (a new generation, or a new snapshot under
//! its label) and dropped when the workspace goes. A scrape assembles the
//! pieces family-major — each family's metadata, then its piece of every
//! workspace in label order — as the text formats require one `# HELP` and
//! `# TYPE` per family, and caches the assembly until a workspace changes.
//!
//! Pieces are kept in the forms scrapes ask for: deflated (as Prometheus
//! asks), each deflated on its own so that they join into one gzip member
//! (`deflate`), and plain text only once a plain scrape asks for it.
//! Concurrent scrapes of a new generation wait for one rendering.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::deflate::{Deflated, Deflating, Joined};
use super::family::Spec;
use super::format::Format;
use super::text;
use crate::snapshot::SharedSnapshot;
use layout::Layout;

mod layout;
#[cfg(test)]
mod probe;

/// A workspace of a scrape: its label, the snapshot its pieces are
/// rendered from, and what they are rendered for: the snapshot's
/// generation and, for the live families, the self-metrics' version.
pub struct Stamp<'a> {
    pub label: &'a str,
    pub snapshot: &'a Arc<SharedSnapshot>,
    pub version: (u64, u64),
}

/// One family of one workspace, in the form asked for.
pub enum Chunk {
    Text(Bytes),
    Deflated(Deflated),
}

/// Bytes of text in what a renderer gave.
pub fn text_len(rendered: &Rendered) -> usize {
    let len = |chunk: &Chunk| match chunk {
        Chunk::Text(text) => text.len(),
        Chunk::Deflated(deflated) => deflated.len(),
    };
    rendered.iter().flatten().flatten().map(|(_, chunk)| len(chunk)).sum()
}

/// What the renderer gives for each workspace asked (indices into the
/// scrape's stamps): per family, in written order, its family and piece,
/// `None` when the workspace has no sample of it.
pub type Rendered = Vec<Vec<Option<(&'static Spec, Chunk)>>>;

/// The large part of one format.
pub struct Cache {
    format: Format,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// One per workspace of the last scrape, in its order.
    entries: Vec<Entry>,
    /// Per family index, once a piece of it was rendered.
    headers: Vec<Option<Header>>,
    /// Bumped whenever `entries` changes.
    version: u64,
    text: Option<(u64, Arc<[Vec<Bytes>]>)>,
    deflated: Option<(u64, Arc<[Joined]>)>,
    /// The version of the assembly whose buffer the entries' pieces lie in,
    /// text then deflated.
    laid: [Option<u64>; 2],
}

struct Entry {
    label: String,
    /// Held so that its address cannot be another snapshot's.
    snapshot: Arc<SharedSnapshot>,
    version: (u64, u64),
    text: Option<Vec<Option<Bytes>>>,
    deflated: Option<Vec<Option<Deflated>>>,
}

impl Entry {
    fn is(&self, stamp: &Stamp<'_>) -> bool {
        self.label == stamp.label && Arc::ptr_eq(&self.snapshot, stamp.snapshot) && self.version == stamp.version
    }
}

/// A family's metadata: plain, and deflated once (it never changes).
struct Header {
    head: Bytes,
    tail: Bytes,
    deflated: [Deflated; 2],
}

impl Header {
    fn new(format: Format, spec: &Spec) -> Header {
        let text::Header { head, tail } = text::header(format, spec);
        let mut deflating = Deflating::new();
        let mut deflate = |text: &[u8]| {
            deflating.feed(text);
            deflating.finish_piece()
        };
        let deflated = [deflate(&head), deflate(&tail)];
        Header {
            head: head.into(),
            tail: tail.into(),
            deflated,
        }
    }
}

impl Cache {
    pub fn new(format: Format) -> Cache {
        Cache {
            format,
            state: Mutex::default(),
        }
    }

    /// Each family (by index, up to the last one seen) for `stamps` as
    /// plain buffers to send one after the other, none when no workspace
    /// has a sample of it; `render` renders the workspaces whose text is
    /// missing.
    pub fn text(&self, stamps: &[Stamp<'_>], render: impl FnOnce(&[usize], bool) -> Rendered) -> Arc<[Vec<Bytes>]> {
        let mut state = self.current(stamps, false, render);
        if let Some((_, text)) = state.text.as_ref().filter(|(v, _)| *v == state.version) {
            return Arc::clone(text);
        }
        state.lift_out(DEFLATED);
        let text: Arc<[Vec<Bytes>]> = self.assemble_text(&mut state).into();
        state.text = Some((state.version, Arc::clone(&text)));
        state.laid[TEXT] = Some(state.version);
        text
    }

    /// The same, deflated: each family's pieces to send between a gzip
    /// header and the scrape's final deflate.
    pub fn deflated(&self, stamps: &[Stamp<'_>], render: impl FnOnce(&[usize], bool) -> Rendered) -> Arc<[Joined]> {
        let mut state = self.current(stamps, true, render);
        if let Some((_, joined)) = state.deflated.as_ref().filter(|(v, _)| *v == state.version) {
            return Arc::clone(joined);
        }
        state.lift_out(TEXT);
        let joined: Arc<[Joined]> = self.assemble_deflated(&mut state).into();
        state.deflated = Some((state.version, Arc::clone(&joined)));
        state.laid[DEFLATED] = Some(state.version);
        joined
    }

    /// The state with an entry per stamp and every entry in the form
    /// asked for, rendering only what is missing, under the lock: other
    /// scrapes wait for this rendering rather than doing their own.
    fn current(
        &self,
        stamps: &[Stamp<'_>],
        deflated: bool,
        render: impl FnOnce(&[usize], bool) -> Rendered,
    ) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.sync(stamps);
        let missing: Vec<usize> = (state.entries.iter().enumerate())
            .filter(|(_, e)| {
                if deflated {
                    e.deflated.is_none()
                } else {
                    e.text.is_none()
                }
            })
            .map(|(i, _)| i)
            .collect();
        if missing.is_empty() {
            return state;
        }
        let rendered = render(&missing, deflated);
        for (i, families) in missing.into_iter().zip(rendered) {
            let mut text = Vec::with_capacity(families.len());
            let mut deflates = Vec::with_capacity(families.len());
            for (f, piece) in families.into_iter().enumerate() {
                if state.headers.len() <= f {
                    state.headers.resize_with(f + 1, || None);
                }
                let (spec, chunk) = match piece {
                    Some((spec, chunk)) => (Some(spec), Some(chunk)),
                    None => (None, None),
                };
                if let (Some(spec), None) = (spec, &state.headers[f]) {
                    state.headers[f] = Some(Header::new(self.format, spec));
                }
                match chunk {
                    Some(Chunk::Text(t)) => text.push(Some(t)),
                    Some(Chunk::Deflated(d)) => deflates.push(Some(d)),
                    None if deflated => deflates.push(None),
                    None => text.push(None),
                }
            }
            let entry = &mut state.entries[i];
            if deflated {
                entry.deflated = Some(deflates);
            } else {
                entry.text = Some(text);
            }
        }
        state
    }

    /// Each family's metadata and pieces, nothing for a family of which
    /// no workspace has a sample: laid end to end in one buffer, a slice
    /// of it per family, and each workspace's pieces moved into it (see
    /// [`Layout`]).
    fn assemble_text(&self, state: &mut State) -> Vec<Vec<Bytes>> {
        let mut layout = Layout::with_capacity(room(state, |e, f| Some(e.text.as_ref()?.get(f)?.as_ref()?.len())));
        let mut families = Vec::with_capacity(state.headers.len());
        for (f, header) in state.headers.iter().enumerate() {
            let pieces: Vec<(usize, &Bytes)> = (state.entries.iter().enumerate())
                .filter_map(|(e, entry)| Some((e, entry.text.as_ref()?.get(f)?.as_ref()?)))
                .collect();
            let start = layout.len();
            if let Some(header) = header.as_ref().filter(|_| !pieces.is_empty()) {
                if self.format == Format::Protobuf {
                    let len =
                        header.head.len() + pieces.iter().map(|(_, p)| p.len()).sum::<usize>() + header.tail.len();
                    layout.put(&varint(len));
                }
                layout.put(&header.head);
                for (e, piece) in pieces {
                    layout.place(e, f, piece);
                }
                layout.put(&header.tail);
            }
            families.push(start..layout.len());
        }
        let (whole, placed) = layout.finish();
        for (e, f, range) in placed {
            if let Some(piece) = state.entries[e].text.as_mut().and_then(|t| t.get_mut(f)) {
                *piece = Some(whole.slice(range));
            }
        }
        (families.into_iter())
            .map(|range| {
                if range.is_empty() {
                    Vec::new()
                } else {
                    vec![whole.slice(range)]
                }
            })
            .collect()
    }

    /// The same from the deflated pieces and headers, protobuf's lengths
    /// in stored blocks.
    fn assemble_deflated(&self, state: &mut State) -> Vec<Joined> {
        let mut layout = Layout::with_capacity(room(state, |e, f| {
            Some(e.deflated.as_ref()?.get(f)?.as_ref()?.deflated_len())
        }));
        let mut families = Vec::with_capacity(state.headers.len());
        for (f, header) in state.headers.iter().enumerate() {
            let pieces: Vec<(usize, &Deflated)> = (state.entries.iter().enumerate())
                .filter_map(|(e, entry)| Some((e, entry.deflated.as_ref()?.get(f)?.as_ref()?)))
                .collect();
            let mut joined = Joined::default();
            let start = layout.len();
            if let Some(header) = header.as_ref().filter(|_| !pieces.is_empty()) {
                let [head, tail] = &header.deflated;
                if self.format == Format::Protobuf {
                    let len = head.len() + pieces.iter().map(|(_, p)| p.len()).sum::<usize>() + tail.len();
                    joined.push_stored(&varint(len));
                    layout.put(joined.segments.last().map_or(&[][..], |s| s));
                }
                // Each segment laid out as it is pushed: a piece with no
                // deflate pushes none (and the scrape compresses whole).
                let mut push = |piece: &Deflated, of: Option<usize>| {
                    joined.push(piece);
                    match (of, piece.deflate()) {
                        (Some(e), Some(deflate)) => layout.place(e, f, deflate),
                        (None, Some(deflate)) => layout.put(deflate),
                        (_, None) => {}
                    }
                };
                push(head, None);
                for (e, piece) in pieces {
                    push(piece, Some(e));
                }
                if !tail.is_empty() {
                    push(tail, None);
                }
            }
            families.push((joined, start..layout.len()));
        }
        let (whole, placed) = layout.finish();
        for (e, f, range) in placed {
            if let Some(piece) = state.entries[e].deflated.as_mut().and_then(|d| d.get_mut(f)?.as_mut()) {
                piece.replace_deflate(whole.slice(range));
            }
        }
        (families.into_iter())
            .map(|(mut joined, range)| {
                if !range.is_empty() {
                    joined.segments = vec![whole.slice(range)];
                }
                joined
            })
            .collect()
    }
}

const TEXT: usize = 0;
const DEFLATED: usize = 1;

impl State {
    /// The entries' pieces of one form, when they lie in the buffer of an
    /// assembly older than this version, copied out of it: that form is
    /// not being assembled again (a plain scrape among gzip ones), and the
    /// old buffer, held by the unchanged workspaces' slices, would keep
    /// the changed ones' old pieces with it.
    fn lift_out(&mut self, form: usize) {
        if self.laid[form].is_none_or(|v| v == self.version) {
            return;
        }
        for entry in &mut self.entries {
            if form == TEXT {
                for piece in entry.text.iter_mut().flatten().flatten() {
                    *piece = Bytes::copy_from_slice(piece);
                }
            } else {
                for piece in entry.deflated.iter_mut().flatten().flatten() {
                    if let Some(deflate) = piece.deflate() {
                        let copied = Bytes::copy_from_slice(deflate);
                        piece.replace_deflate(copied);
                    }
                }
            }
        }
        self.laid[form] = None;
    }

    /// One entry per stamp, in their order: kept where the workspace's
    /// snapshot is the same, new (to render) where not; the others dropped.
    fn sync(&mut self, stamps: &[Stamp<'_>]) {
        let same = self.entries.len() == stamps.len() && self.entries.iter().zip(stamps).all(|(e, s)| e.is(s));
        if same {
            return;
        }
        let mut old: HashMap<String, Entry> = self.entries.drain(..).map(|e| (e.label.clone(), e)).collect();
        self.entries = (stamps.iter())
            .map(|s| match old.remove(s.label) {
                Some(entry) if entry.is(s) => entry,
                _ => Entry {
                    label: s.label.to_string(),
                    snapshot: Arc::clone(s.snapshot),
                    version: s.version,
                    text: None,
                    deflated: None,
                },
            })
            .collect();
        self.version += 1;
        // Assemblies share pieces that may be gone now.
        self.text = None;
        self.deflated = None;
    }
}

/// Room for every piece `len` gives and the metadata around them.
fn room(state: &State, len: impl Fn(&Entry, usize) -> Option<usize>) -> usize {
    let families = state.headers.len();
    let pieces: usize = (state.entries.iter())
        .map(|e| (0..families).filter_map(|f| len(e, f)).sum::<usize>())
        .sum();
    pieces + families * 1024
}

/// A protobuf message's length as the varint before it.
fn varint(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    prost::encoding::encode_varint(len as u64, &mut out);
    out
}
