-- 4 KiB POST bodies (Content-Length framed) to the URL's path (/post on the backends,
-- which read and discard the body, then answer 200). Totals come from report.lua.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

wrk.method = "POST"
wrk.body = string.rep("x", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
