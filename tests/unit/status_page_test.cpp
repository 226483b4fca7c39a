// The status page: every meter with its health and last values, buses, uplink and buffer,
// everything from outside escaped, a partial or hostile document rendered as far as it goes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/status/status_page.hpp"

namespace kaa::status {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

json page_document() {
    return json::parse(R"({
      "version": "0.1.0", "generated_ms": 1796000000000, "started_ms": 1795999000000,
      "config": "/etc/kaa-gateway/gateway.yaml",
      "uplink": {"broker": "kaa.local:1883", "connected": true, "since_ms": 1795999990000,
                 "samples_delivered": 12345, "in_flight": 1},
      "buffer": {"samples": 120, "bytes": 36000, "oldest_ms": 1795999920000},
      "clock": {"state": "waiting", "unsynced_since_ms": 1795999940000},
      "buses": [{"name": "rs485-1", "state": "open", "meters": 1,
                 "utilisation_estimated": 0.25, "utilisation_measured": 0.2},
                {"name": "converter", "state": "down", "meters": 1,
                 "last_error": "cannot open tcp 10.0.0.9:502: Connection refused",
                 "last_error_ms": 1795999995000}],
      "meters": [{"name": "heat", "bus": "rs485-1", "state": "ok",
                  "last_good_ms": 1795999998000,
                  "transactions": {"answered": 998, "timeouts": 2},
                  "values": {"energy_kwh": 1234.5, "serial": "<b>A&B</b>"}},
                 {"name": "water <script>", "bus": "converter", "state": "failing",
                  "failing_since_ms": 1795999880000, "last_error": "bus converter: down",
                  "values": {}}]
    })");
}

TEST(StatusPage, ShowsEveryMeterWithItsHealthAndLastValues) {
    const std::string html = render_status_html(page_document());
    EXPECT_THAT(html, HasSubstr("<meta http-equiv=\"refresh\" content=\"5\">"));
    EXPECT_THAT(html, HasSubstr("<tr data-meter=\"heat\"><td>heat</td><td>rs485-1</td>"
                                "<td class=\"ok health\">ok</td>"));
    EXPECT_THAT(html, HasSubstr("<span class=\"value\" data-register=\"energy_kwh\">"
                                "energy_kwh=1234.5</span>"));
    EXPECT_THAT(html, HasSubstr("<td class=\"failing health\">failing since 2m 0s ago"));
    EXPECT_THAT(html, HasSubstr("998 / 2 / 0 / 0"));
    EXPECT_THAT(html, HasSubstr("connected to</span> kaa.local:1883"));
    EXPECT_THAT(html, HasSubstr("120 samples waiting (35.2 KiB), oldest 1m 20s"));
    EXPECT_THAT(html, HasSubstr("<td class=\"down\">down</td>"));
    EXPECT_THAT(html, HasSubstr("25% / 20%"));
    EXPECT_THAT(html, HasSubstr("NOT synchronised</span> for 1m 0s: readings are held"));
    EXPECT_THAT(html, Not(HasSubstr("<script")));
    EXPECT_THAT(html, Not(HasSubstr("http://"))) << "no outside assets";
}

TEST(StatusPage, OutsideTextIsEscaped) {
    const std::string html = render_status_html(page_document());
    EXPECT_THAT(html, HasSubstr("water &lt;script&gt;"));
    EXPECT_THAT(html, HasSubstr("serial=&quot;&lt;b&gt;A&amp;B&lt;/b&gt;&quot;"));
    EXPECT_THAT(html, Not(HasSubstr("<b>A&B</b>")));
    EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    json doc = page_document();
    doc["meters"][0]["state"] = "x\" onmouseover=\"alert(1)";
    EXPECT_THAT(render_status_html(doc), HasSubstr("<td class=\"bad health\">x&quot; onmouseover"));
}

TEST(StatusPage, APartialOrHostileDocumentRendersAsFarAsItGoes) {
    EXPECT_THAT(render_status_html(json::object()), HasSubstr("NOT connected to"));
    const json odd = json::parse(
        R"({"meters": [1, "x", {"name": 5, "values": [1]}], "buses": {"a": 1}, "uplink": []})");
    EXPECT_THAT(render_status_html(odd), HasSubstr("</html>"));
}

}  // namespace
}  // namespace kaa::status
