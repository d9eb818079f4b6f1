#include "openapi_check.hpp"

#include "hashguard/handlers/routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace hg_test {
namespace {

namespace json = boost::json;

const json::value& document() {
  static const json::value doc = json::parse(hashguard::handlers::openapi_document());
  return doc;
}

const json::value& resolve(const json::value& schema) {
  const auto* ref = schema.as_object().if_contains("$ref");
  if (ref == nullptr) return schema;
  constexpr std::string_view prefix = "#/components/schemas/";
  const std::string_view name(ref->as_string());
  return document().at("components").at("schemas").at(name.substr(prefix.size()));
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
    if (const auto* props = schema.if_contains("properties")) {
      for (const auto& [name, sub] : props->as_object()) {
        if (const auto* field = v.as_object().if_contains(name)) {
          check(sub, *field, at + "." + std::string(name), out);
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

bool openapi_lists_status(std::string_view method, std::string_view pattern, int status) {
  const auto* item = document().at("paths").as_object().if_contains(pattern);
  if (item == nullptr) return false;
  std::string lower(method);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  const auto* op = item->as_object().if_contains(lower);
  if (op == nullptr) return false;
  return op->at("responses").as_object().contains(std::to_string(status));
}

}  // namespace hg_test
