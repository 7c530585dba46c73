//! Pictures of TCP conversations: ladder diagrams (SVG and text),
//! time-sequence graphs, window graphs and a self-contained HTML report.
//!
//! Every picture is drawn from a [`model::Conversation`]; `input` builds one
//! from a capture, a timeline JSON file or a simulation. The ladder has one
//! layout ([`ladder::layout`]) shared by the SVG and the text renderer.

pub mod chart;
pub mod from_timeline;
pub mod graphs;
pub mod input;
pub mod ladder;
pub mod ladder_svg;
pub mod ladder_text;
pub mod model;
pub mod report;
pub mod svg;

pub use ladder::{layout as ladder_layout, LadderLayout, LadderOptions};
pub use model::{Conversation, Direction, Segment, Side};

/// The ladder diagram of `conv` as an SVG document.
pub fn ladder_svg(conv: &Conversation) -> String {
    let layout = ladder::layout(conv, &LadderOptions::default());
    ladder_svg::render(
        &layout,
        &format!("Ladder diagram, {} ↔ {}", conv.client, conv.server),
    )
}

/// The ladder diagram of `conv` as text, for terminals.
pub fn ladder_text(conv: &Conversation) -> String {
    ladder_text::render(&ladder::layout(conv, &LadderOptions::default()))
}

/// The time-sequence graph of `conv` as an SVG document.
pub fn sequence_svg(conv: &Conversation) -> String {
    chart::render(&graphs::sequence_chart(conv))
}

/// The window graph of `conv` as an SVG document.
pub fn window_svg(conv: &Conversation) -> String {
    chart::render(&graphs::window_chart(conv))
}
