// ParseEndpointUrl: the endpoint rule of the AWS layer.
#include "aws/http_transport.h"

namespace headcount::aws {

Result<Url> ParseEndpointUrl(std::string_view text) {
  Result<Url> url = ParseUrl(text);
  if (!url.ok()) return url.error();
  if (url->query || url->fragment) {
    return Error::InvalidArgument("an endpoint URL must not have a query or fragment");
  }
  return url;
}

}  // namespace headcount::aws
