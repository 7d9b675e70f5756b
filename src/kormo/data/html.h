// Boilerplate-light HTML to text: a small tolerant tag scanner, no DOM.
//
// Drops the content of script, style, nav, header, footer, aside, noscript,
// head, template, svg, form, of elements marked `hidden` (except LibreOffice's
// "default…" platform variant, which is the one a reader sees) and of elements
// whose class is navigation chrome (toc, navheader, navfooter, breadcrumb,
// sidebar, menu, header, footer); block elements
// (p, div, h1-h6, li, tr, br, ...) end paragraphs; whitespace inside a paragraph
// collapses to one space except in <pre>; character references are decoded.
// Malformed markup (unclosed tags, stray '<') never throws: it degrades to text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kormo::data {

// Paragraphs separated by a blank line.
std::string html_to_text(std::string_view html);

// Text of the elements whose id attribute starts with one of `prefixes`
// (LibreOffice help: "par_id", "hd_id"), in document order.
struct IdParagraph {
  std::string id, text;
};
std::vector<IdParagraph> html_paragraphs_by_id(std::string_view html, const std::vector<std::string>& prefixes);

// The <title> text ("" if none).
std::string html_title(std::string_view html);

std::string decode_entities(std::string_view s);

}  // namespace kormo::data
