#include "xml_reader.hpp"

#include <expat.h>

#include <climits>
#include <memory>

namespace hashguard::exchanges::detail {
namespace {

struct state {
  XML_Parser parser{};
  const xml_handler* handler{};
  xml_limits limits;
  std::vector<std::string> names;  // open elements' local names
  std::vector<std::string> texts;  // their direct text so far
  bool failed{false};

  void fail() {
    if (!failed) {
      failed = true;
      XML_StopParser(parser, XML_FALSE);
    }
  }
};

std::string_view local_name(const XML_Char* qualified) {
  std::string_view n(qualified);
  const auto bar = n.rfind('\x01');
  return bar == std::string_view::npos ? n : n.substr(bar + 1);
}

void XMLCALL on_start(void* user, const XML_Char* name, const XML_Char** attrs) {
  auto& s = *static_cast<state*>(user);
  if (s.failed) return;
  if (s.names.size() >= s.limits.max_depth) return s.fail();
  s.names.emplace_back(local_name(name));
  s.texts.emplace_back();
  xml_element e;
  e.name = s.names.back();
  e.depth = s.names.size();
  for (std::size_t i = 0; attrs[i] != nullptr && attrs[i + 1] != nullptr; i += 2) {
    e.attributes.emplace_back(local_name(attrs[i]), std::string_view(attrs[i + 1]));
  }
  if (s.handler->start && !s.handler->start(e)) s.fail();
}

void XMLCALL on_end(void* user, const XML_Char* /*name*/) {
  auto& s = *static_cast<state*>(user);
  if (s.failed || s.names.empty()) return;
  const bool ok = !s.handler->end || s.handler->end(s.names.back(), s.names.size(), s.texts.back());
  s.names.pop_back();
  s.texts.pop_back();
  if (!ok) s.fail();
}

void XMLCALL on_text(void* user, const XML_Char* text, int len) {
  auto& s = *static_cast<state*>(user);
  if (s.failed || s.texts.empty() || len <= 0) return;
  auto& t = s.texts.back();
  if (t.size() + static_cast<std::size_t>(len) > s.limits.max_text_bytes) return s.fail();
  t.append(text, static_cast<std::size_t>(len));
}

// A DOCTYPE is never part of an exchange's answer and is the door to entity expansion.
void XMLCALL on_doctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  static_cast<state*>(user)->fail();
}

}  // namespace

bool read_xml(std::string_view xml, const xml_handler& h, const xml_limits& limits) {
  if (xml.size() > static_cast<std::size_t>(INT_MAX)) return false;
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(
      XML_ParserCreateNS(nullptr, '\x01'), &XML_ParserFree);
  if (!parser) return false;
  state s;
  s.parser = parser.get();
  s.handler = &h;
  s.limits = limits;
  XML_SetUserData(parser.get(), &s);
  XML_SetElementHandler(parser.get(), on_start, on_end);
  XML_SetCharacterDataHandler(parser.get(), on_text);
  XML_SetStartDoctypeDeclHandler(parser.get(), on_doctype);
  XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);
  const auto status = XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  return status == XML_STATUS_OK && !s.failed;
}

}  // namespace hashguard::exchanges::detail
