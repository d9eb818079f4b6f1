// Checks an answer against a schema of api/openapi.json, so the tests that receive real
// answers also keep the document true. Supports what the document uses: $ref to
// #/components/schemas/NAME (and #/components/responses/NAME for responses), type (object,
// array, string, integer, number, boolean), nullable, enum, required, properties,
// additionalProperties (a schema or false), items and oneOf. Properties the schema does not name
// are allowed unless additionalProperties says otherwise; a schema without type takes any value.
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

/// Where a real answer of `method` (upper case) on `pattern` ("/v1/lists/{id}") breaks the
/// document, one message per problem; empty when it conforms. The route must be documented,
/// `status` among its responses, the answer's media type (`content_type` without parameters)
/// among that response's content types ("image/*" covers image/jpeg), and a JSON body
/// (application/json) must fit the schema. An answer without a body needs no content type.
std::vector<std::string> openapi_answer_violations(std::string_view method,
                                                   std::string_view pattern, int status,
                                                   std::string_view content_type,
                                                   std::string_view body);

/// Likewise for a request body a test sends: the route must document a request body with this
/// media type, and a JSON body must fit its schema.
std::vector<std::string> openapi_request_violations(std::string_view method,
                                                    std::string_view pattern,
                                                    std::string_view content_type,
                                                    std::string_view body);

/// Where the query of `target` ("/v1/audit?limit=2&before=9") breaks the parameters documented
/// for `method` on `pattern`: an undocumented name, a value that is not an integer where the
/// schema says integer, a value outside an enum; with `complete`, also a required query
/// parameter that is absent. Values are taken as sent (no percent-decoding).
std::vector<std::string> openapi_query_violations(std::string_view method, std::string_view pattern,
                                                  std::string_view target, bool complete);

/// Whether the document lists `status` among the responses of `method` (upper case) on
/// `pattern` ("/v1/lists/{id}").
bool openapi_lists_status(std::string_view method, std::string_view pattern, int status);

}  // namespace hg_test
