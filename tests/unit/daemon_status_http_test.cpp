// What the status page's HTTP server answers: the page, the document and the metrics for
// GET and HEAD; 405 for anything that would change something; 404 elsewhere; 503 before
// the first document.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/status/http/status_http.hpp"

namespace kaa::status {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::shared_ptr<const json> doc() {
    return std::make_shared<const json>(json{{"version", "0.1.0"},
                                             {"generated_ms", 1796000000000},
                                             {"uplink", {{"connected", true}}},
                                             {"meters", json::array()}});
}

TEST(StatusHttp, ServesThePageTheDocumentAndTheMetrics) {
    const HttpAnswer page = answer_status_request("GET", "/", doc());
    EXPECT_EQ(page.code, 200u);
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_THAT(page.body, StartsWith("<!doctype html>"));
    const HttpAnswer json_doc = answer_status_request("GET", "/status.json", doc());
    EXPECT_EQ(json_doc.code, 200u);
    EXPECT_EQ(json_doc.content_type, "application/json");
    EXPECT_EQ(json::parse(json_doc.body), *doc());
    const HttpAnswer metrics = answer_status_request("HEAD", "/metrics", doc());
    EXPECT_EQ(metrics.code, 200u);
    EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_THAT(metrics.body, HasSubstr("kaa_gateway_uplink_connected 1"));
}

TEST(StatusHttp, IsReadOnlyAndSmall) {
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH", ""})
        EXPECT_EQ(answer_status_request(method, "/", doc()).code, 405u) << method;
    EXPECT_EQ(answer_status_request("GET", "/etc/passwd", doc()).code, 404u);
    EXPECT_EQ(answer_status_request("GET", "/../status.json", doc()).code, 404u);
    EXPECT_EQ(answer_status_request("GET", "/", nullptr).code, 503u);
}

TEST(StatusHttp, ABadAddressIsAClearError) {
    const auto server = StatusHttpServer::start("not-an-address", 9464);
    ASSERT_FALSE(server.ok());
    EXPECT_THAT(server.error().message, HasSubstr("'not-an-address' is not a numeric address"));
}

}  // namespace
}  // namespace kaa::status
