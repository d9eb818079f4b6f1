// Checks an answer against a schema of api/openapi.json, so the tests that receive real
// answers also keep the document true. Supports what the document uses: $ref to
// #/components/schemas/NAME, type (object, array, string, integer, number, boolean), nullable,
// enum, required, properties and items. Properties the schema does not name are allowed.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace hg_test {

/// Where `value` breaks components.schemas[schema] of the embedded OpenAPI document, one
/// message per problem ("$.items[0].action: not in enum"); empty when it conforms.
std::vector<std::string> openapi_violations(std::string_view schema,
                                            const boost::json::value& value);

/// Whether the document lists `status` among the responses of `method` (upper case) on
/// `pattern` ("/v1/lists/{id}").
bool openapi_lists_status(std::string_view method, std::string_view pattern, int status);

}  // namespace hg_test
