//! The dependency graph as inline SVG. `layout-rs` places and draws the nodes and edges
//! (dependencies on the left, their readers to the right); a thin rendering backend around its
//! SVG writer adds a link over every node to the table's page.

use crate::errors::escape_html;
use crate::model::Status;
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;
use std::collections::HashMap;

/// One node: a table, its status and the page it links to.
pub struct Node {
    pub name: String,
    pub status: Status,
    pub href: String,
}

fn fill_of(status: Status) -> u32 {
    match status {
        Status::Fresh => 0xd4ed_daff,
        Status::Due | Status::Forced => 0xfff3_cdff,
        Status::Running => 0xcce5_ffff,
        Status::Failed => 0xf8d7_daff,
        Status::Removed => 0xe2e3_e5ff,
    }
}

/// Renders `nodes` with `edges` (dependency → reader, by index) as an `<svg>` element.
pub fn render(nodes: &[Node], edges: &[(usize, usize)]) -> String {
    if nodes.is_empty() {
        return String::new();
    }
    let mut graph = VisualGraph::new(Orientation::LeftToRight);
    let handles: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let look = StyleAttr::new(
                Color::new(0x4444_44ff),
                1,
                Some(Color::new(fill_of(node.status))),
                4,
                13,
            );
            let size = Point::new(node.name.len() as f64 * 8.0 + 24.0, 34.0);
            graph.add_node(Element::create_with_properties(
                ShapeKind::new_box(&node.name),
                look,
                Orientation::LeftToRight,
                size,
                index.to_string(),
            ))
        })
        .collect();
    for (from, to) in edges {
        if from != to {
            graph.add_edge(Arrow::simple(""), handles[*from], handles[*to]);
        }
    }
    let mut backend = LinkingBackend {
        inner: SVGWriter::new(),
        boxes: HashMap::new(),
    };
    graph.do_it(false, false, false, &mut backend);
    let drawn = backend.inner.finalize();
    let start = drawn.find("<svg").unwrap_or(0);
    let end = drawn.rfind("</svg>").unwrap_or(drawn.len());
    let mut svg = drawn[start..end].to_owned();
    let mut indexes: Vec<&usize> = backend.boxes.keys().collect();
    indexes.sort();
    for index in indexes {
        let (xy, size) = backend.boxes[index];
        let node = &nodes[*index];
        svg.push_str(&format!(
            "<a href=\"{href}\" class=\"node-link\"><title>{name}: {status}</title><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"transparent\"/></a>\n",
            href = escape_html(&node.href),
            name = escape_html(&node.name),
            status = node.status.as_str(),
            x = xy.x,
            y = xy.y,
            w = size.x,
            h = size.y,
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Passes everything to the SVG writer, remembering where each node's box was drawn (the node
/// index travels in the element's properties, which are otherwise written as raw attributes).
struct LinkingBackend {
    inner: SVGWriter,
    boxes: HashMap<usize, (Point, Point)>,
}

impl RenderBackend for LinkingBackend {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        if let Some(index) = properties.as_deref().and_then(|p| p.parse::<usize>().ok()) {
            self.boxes.insert(index, (xy, size));
        }
        self.inner.draw_rect(xy, size, look, None, clip);
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, _: Option<String>) {
        self.inner.draw_line(start, stop, look, None);
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, _: Option<String>) {
        self.inner.draw_circle(xy, size, look, None);
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        self.inner.draw_text(xy, text, look);
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        _: Option<String>,
        text: &str,
    ) {
        self.inner.draw_arrow(path, dashed, head, look, None, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.inner.create_clip(xy, size, rounded_px)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_links_to_its_page() {
        let nodes = vec![
            Node {
                name: "s.base".to_owned(),
                status: Status::Fresh,
                href: "/tables/s.base".to_owned(),
            },
            Node {
                name: "s.reader".to_owned(),
                status: Status::Failed,
                href: "/tables/s.reader?a=1&b=2".to_owned(),
            },
        ];
        let svg = render(&nodes, &[(0, 1)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("href=\"/tables/s.base\""));
        assert!(svg.contains("href=\"/tables/s.reader?a=1&amp;b=2\""));
        assert!(svg.contains("s.reader: failed"));
        assert!(
            svg.contains(">s.base<") || svg.contains("s.base</text>") || svg.contains("s.base")
        );
        assert_eq!(svg.matches("<a href").count(), 2);
        assert!(render(&[], &[]).is_empty());
    }
}
