#include "openapi_check.hpp"

#include "hashguard/api/routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <set>

namespace hg_test {
namespace {

namespace json = boost::json;

const json::value& document() {
  static const json::value doc = json::parse(hashguard::api::openapi_document());
  return doc;
}

// Follows a "$ref" to #/components/<section>/NAME (schemas, responses); anything else as is.
const json::value& resolve(const json::value& node) {
  const auto* ref = node.as_object().if_contains("$ref");
  if (ref == nullptr) return node;
  constexpr std::string_view prefix = "#/components/";
  const std::string_view target(ref->as_string());
  const auto slash = target.find('/', prefix.size());
  return document()
      .at("components")
      .at(target.substr(prefix.size(), slash - prefix.size()))
      .at(target.substr(slash + 1));
}

bool has_type(const json::value& v, std::string_view type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_int64() || v.is_uint64();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_bool();
  return false;
}

void check(const json::value& schema_in, const json::value& v, const std::string& at,
           std::vector<std::string>& out) {
  const auto& schema = resolve(schema_in).as_object();
  if (v.is_null()) {
    const auto* nullable = schema.if_contains("nullable");
    if (nullable == nullptr || !nullable->as_bool()) out.push_back(at + ": null, not nullable");
    return;
  }
  if (const auto* type = schema.if_contains("type")) {
    if (!has_type(v, type->as_string())) {
      out.push_back(at + ": not of type " + std::string(type->as_string()));
      return;
    }
  }
  if (const auto* options = schema.if_contains("oneOf")) {
    std::size_t fits = 0;
    for (const auto& option : options->as_array()) {
      std::vector<std::string> ignored;
      check(option, v, at, ignored);
      if (ignored.empty()) ++fits;
    }
    if (fits != 1) out.push_back(at + ": fits " + std::to_string(fits) + " oneOf options, not 1");
  }
  if (const auto* values = schema.if_contains("enum")) {
    bool found = false;
    for (const auto& e : values->as_array()) found = found || e == v;
    if (!found) out.push_back(at + ": " + json::serialize(v) + " not in enum");
  }
  if (v.is_object()) {
    if (const auto* required = schema.if_contains("required")) {
      for (const auto& name : required->as_array()) {
        if (!v.as_object().contains(name.as_string())) {
          out.push_back(at + ": lacks required " + std::string(name.as_string()));
        }
      }
    }
    const auto* props = schema.if_contains("properties");
    if (props != nullptr) {
      for (const auto& [name, sub] : props->as_object()) {
        if (const auto* field = v.as_object().if_contains(name)) {
          check(sub, *field, at + "." + std::string(name), out);
        }
      }
    }
    if (const auto* extra = schema.if_contains("additionalProperties")) {
      for (const auto& [name, field] : v.as_object()) {
        if (props != nullptr && props->as_object().contains(name)) continue;
        if (extra->is_bool()) {
          if (!extra->as_bool()) out.push_back(at + ": undocumented property " + std::string(name));
        } else {
          check(*extra, field, at + "." + std::string(name), out);
        }
      }
    }
  }
  if (v.is_array()) {
    if (const auto* items = schema.if_contains("items")) {
      std::size_t i = 0;
      for (const auto& e : v.as_array()) {
        check(*items, e, at + "[" + std::to_string(i++) + "]", out);
      }
    }
  }
}

}  // namespace

std::vector<std::string> openapi_violations(std::string_view schema,
                                            const boost::json::value& value) {
  std::vector<std::string> out;
  const auto* s = document().at("components").at("schemas").as_object().if_contains(schema);
  if (s == nullptr) {
    out.push_back("no schema " + std::string(schema) + " in openapi.json");
    return out;
  }
  check(*s, value, "$", out);
  return out;
}

namespace {

const json::object* operation(std::string_view method, std::string_view pattern) {
  const auto* item = document().at("paths").as_object().if_contains(pattern);
  if (item == nullptr) return nullptr;
  std::string lower(method);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  const auto* op = item->as_object().if_contains(lower);
  return op == nullptr ? nullptr : &op->as_object();
}

// The media type without parameters, lower case ("text/csv; charset=utf-8" -> "text/csv").
std::string media_type(std::string_view content_type) {
  std::string out(content_type.substr(0, content_type.find(';')));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// The content entry of `content` (a media-type map) that covers `type`, or nullptr.
const json::value* content_for(const json::object& content, const std::string& type) {
  if (const auto* exact = content.if_contains(type)) return exact;
  const auto slash = type.find('/');
  if (const auto* wild = content.if_contains(type.substr(0, slash) + "/*")) return wild;
  return content.if_contains("*/*");
}

// Checks `body` against the media-type entry `media` (a JSON body against its schema).
void check_body(const json::value& media, const std::string& type, std::string_view body,
                const std::string& where, std::vector<std::string>& out) {
  if (type != "application/json") return;
  const auto* schema = media.as_object().if_contains("schema");
  if (schema == nullptr) return;
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec) {
    out.push_back(where + ": the body is not JSON");
    return;
  }
  check(*schema, v, where + " $", out);
}

}  // namespace

std::vector<std::string> openapi_answer_violations(std::string_view method,
                                                   std::string_view pattern, int status,
                                                   std::string_view content_type,
                                                   std::string_view body) {
  std::vector<std::string> out;
  const std::string where =
      std::string(method) + " " + std::string(pattern) + " " + std::to_string(status);
  const auto* op = operation(method, pattern);
  if (op == nullptr) {
    out.push_back(where + ": no such operation in openapi.json");
    return out;
  }
  const auto* response = op->at("responses").as_object().if_contains(std::to_string(status));
  if (response == nullptr) {
    out.push_back(where + ": status not documented");
    return out;
  }
  const auto& resolved = resolve(*response).as_object();
  const auto* content = resolved.if_contains("content");
  if (body.empty() && content_type.empty()) return out;
  const std::string type = media_type(content_type);
  const auto* media = content == nullptr ? nullptr : content_for(content->as_object(), type);
  if (media == nullptr) {
    out.push_back(where + ": media type " + type + " not documented");
    return out;
  }
  check_body(*media, type, body, where, out);
  return out;
}

std::vector<std::string> openapi_request_violations(std::string_view method,
                                                    std::string_view pattern,
                                                    std::string_view content_type,
                                                    std::string_view body) {
  std::vector<std::string> out;
  const std::string where = std::string(method) + " " + std::string(pattern) + " request";
  const auto* op = operation(method, pattern);
  const auto* request = op == nullptr ? nullptr : op->if_contains("requestBody");
  if (request == nullptr) {
    out.push_back(where + ": no request body documented");
    return out;
  }
  const std::string type = media_type(content_type);
  const auto* media = content_for(request->at("content").as_object(), type);
  if (media == nullptr) {
    out.push_back(where + ": media type " + type + " not documented");
    return out;
  }
  check_body(*media, type, body, where, out);
  return out;
}

std::vector<std::string> openapi_query_violations(std::string_view method, std::string_view pattern,
                                                  std::string_view target, bool complete) {
  std::vector<std::string> out;
  const std::string where = std::string(method) + " " + std::string(target);
  const auto* op = operation(method, pattern);
  if (op == nullptr) {
    out.push_back(where + ": no such operation in openapi.json");
    return out;
  }
  std::map<std::string, const json::object*, std::less<>> documented;
  if (const auto* params = op->if_contains("parameters")) {
    for (const auto& p : params->as_array()) {
      if (p.at("in").as_string() == "query") {
        documented[std::string(p.at("name").as_string())] = &p.as_object();
      }
    }
  }
  std::set<std::string, std::less<>> given;
  const auto q = target.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const auto name = pair.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    given.insert(std::string(name));
    auto it = documented.find(name);
    if (it == documented.end()) {
      out.push_back(where + ": query parameter " + std::string(name) + " not documented");
      continue;
    }
    const auto& schema = resolve(it->second->at("schema")).as_object();
    if (const auto* type = schema.if_contains("type");
        type != nullptr && type->as_string() == "integer") {
      const bool digits =
          !value.empty() && value.find_first_not_of("-0123456789") == std::string_view::npos;
      if (!digits) {
        out.push_back(where + ": " + std::string(name) + " is documented as an integer");
      }
    }
    if (const auto* values = schema.if_contains("enum")) {
      bool found = false;
      for (const auto& e : values->as_array())
        found = found || (e.is_string() && e.as_string() == value);
      if (!found)
        out.push_back(where + ": " + std::string(name) + "=" + std::string(value) + " not in enum");
    }
  }
  if (complete) {
    for (const auto& [name, p] : documented) {
      const auto* required = p->if_contains("required");
      if (required != nullptr && required->as_bool() && !given.contains(name)) {
        out.push_back(where + ": lacks required query parameter " + name);
      }
    }
  }
  return out;
}

bool openapi_lists_status(std::string_view method, std::string_view pattern, int status) {
  const auto* op = operation(method, pattern);
  return op != nullptr && op->at("responses").as_object().contains(std::to_string(status));
}

}  // namespace hg_test
