// html_escape (proxy/admin/html_escape.h): data made safe for HTML text and attributes.
#include "proxy/admin/html_escape.h"

#include <gtest/gtest.h>

namespace ferry::proxy {
namespace {

TEST(HtmlEscape, ReplacesTheFiveCharactersThatMeanSomethingInHtml) {
  EXPECT_EQ(html_escape("<script>alert('x' & \"y\")</script>"),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;");
}

TEST(HtmlEscape, PassesEverythingElseThrough) {
  EXPECT_EQ(html_escape("10.0.0.1:8000 caf\xc3\xa9 /health?a=1;b=2"), "10.0.0.1:8000 caf\xc3\xa9 /health?a=1;b=2");
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");  // escaping twice shows the text, not the character
}

}  // namespace
}  // namespace ferry::proxy
