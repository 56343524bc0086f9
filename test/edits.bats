#!/usr/bin/env bats
# lib/edits: model answers in the search-replace, udiff and whole formats,
# applied flexibly but never ambiguously, path safety and unified diffs,
# through the small driver test/edits.c, on the sample component and the
# corpus of answers under test/fixtures/edits.

setup_file() {
	load helpers/driver
	build_driver EDITS test/edits.c
}

setup() {
	load test_helper/common
	CORPUS="$FIXTURES/edits"
	# A copy of the sample component that a test may add files to.
	cp -R "$CORPUS/component" c
}

# The answer on stdin applied in format $1 to the copy ("--exact" may come first).
apply() {
	"$EDITS" "$@" c
}

# The content of the one changed file.
content() {
	jq -j .content
}

@test "corpus: every answer gives its expected outcome in each format" {
	local fmt answer want got n=0
	for fmt in search-replace udiff whole; do
		for answer in "$CORPUS/$fmt"/*.answer; do
			want=${answer%.answer}.expect
			if "$EDITS" "$fmt" "$CORPUS/component" <"$answer" >out; then
				jq -j '"== \(.action) \(.path)\n\(.content // "")"' out >got
				cmp got "$want" || { echo "$answer"; diff -u "$want" got; return 1; }
			else
				grep -qF -- "$(head -n 1 "$want" | sed 's/^fails: //')" out ||
					{ echo "$answer: $(cat out)"; return 1; }
				grep -q '^fails: ' "$want" || { echo "$answer: $(cat out)"; return 1; }
			fi
			n=$((n + 1))
		done
		[ "$(ls "$CORPUS/$fmt"/*.answer | wc -l)" -ge 10 ]
	done
	[ "$n" -ge 30 ]
}

@test "bench/edit-formats: a line per format and the overall figure, all as expected" {
	run -0 "$SB_ROOT/bench/edit-formats"
	assert_line --regexp '^search-replace +[0-9]+ +[0-9]+/[0-9]+ +[0-9.]+%'
	assert_line --regexp '^udiff +[0-9]+ '
	assert_line --regexp '^whole +[0-9]+ '
	assert_line --regexp '^all +[0-9]+ '
}

@test "search-replace: a well-formed block gives path, action, base SHA-256, content and diff" {
	run -0 apply search-replace <"$CORPUS/search-replace/basic.answer"
	[ "${#lines[@]}" -eq 1 ]
	run -0 jq -r '"\(.path) \(.action) \(.base_sha256)"' <<<"$output"
	assert_output "src/orders.py modify $(sha256sum <c/src/orders.py | cut -c1-64)"
}

@test "unified diff: 3 lines of context, a/ and b/ prefixes, ranges as GNU diff writes them" {
	apply search-replace <"$CORPUS/search-replace/blocks-in-order.answer" >out
	run -0 jq -r .diff out
	assert_output - <<'EOF'
--- a/src/orders.py
+++ b/src/orders.py
@@ -5,7 +5,7 @@
 import requests
 
 UPSTREAM = "http://orders.internal:8080"
-TIMEOUT_S = 2
+TIMEOUT_S = 5
 
 
 class OrderClient:
@@ -28,9 +28,9 @@
             return None
         return response.json()
 
-    def cancel_order(self, order_id):
+    def cancel_order(self, order_id, attempts=4):
         url = f"{self.base_url}/orders/{order_id}/cancel"
-        for attempt in range(3):
+        for attempt in range(attempts):
             response = self.session.post(url, timeout=self.timeout)
             if response.status_code == 200:
                 return True
EOF
}

@test "unified diff: patch -p1 accepts every diff of the corpus on a copy of the component" {
	command -v patch >/dev/null || skip "patch is not installed"
	local fmt answer
	for fmt in search-replace udiff whole; do
		for answer in "$CORPUS/$fmt"/*.answer; do
			grep -q '^fails: ' "${answer%.answer}.expect" && continue
			"$EDITS" "$fmt" c <"$answer" | jq -r .diff >diff
			patch -p1 --dry-run -d c <diff >/dev/null || { echo "$answer"; cat diff; return 1; }
		done
	done
	# And applied for real, the result is the content.
	apply udiff <"$CORPUS/udiff/hunks-and-files.answer" >out
	jq -r .diff out | patch -s -p1 -d c
	jq -j 'select(.path == "web/client.js") | .content' out | cmp - c/web/client.js
}

@test "unified diff: create and delete have /dev/null sides; no newline at the end is marked" {
	printf 'a\nb' >old
	printf 'a\nc\n' >new
	run -0 "$EDITS" --diff x.txt old new
	assert_output - <<'EOF'
--- a/x.txt
+++ b/x.txt
@@ -1,2 +1,2 @@
 a
-b
\ No newline at end of file
+c
EOF
	run -0 "$EDITS" --diff x.txt - new
	assert_output - <<'EOF'
--- /dev/null
+++ b/x.txt
@@ -0,0 +1,2 @@
+a
+c
EOF
	run -0 "$EDITS" --diff x.txt old -
	assert_output - <<'EOF'
--- a/x.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
\ No newline at end of file
EOF
	run -0 "$EDITS" --diff x.txt new new
	assert_output ''
}

@test "search-replace: several blocks for one file apply in order, the later on the earlier's result" {
	run -0 apply search-replace <<'EOF'
src/orders.py
<<<<<<< SEARCH
TIMEOUT_S = 2
=======
TIMEOUT_S = 5
>>>>>>> REPLACE

src/orders.py
<<<<<<< SEARCH
TIMEOUT_S = 5
=======
TIMEOUT_S = 7
>>>>>>> REPLACE
EOF
	run -0 bash -c 'jq -j .content <<<"$1" | grep ^TIMEOUT_S' _ "$output"
	assert_output 'TIMEOUT_S = 7'
}

@test "search-replace: a block without a path is for the file of the block before it" {
	run -0 apply search-replace <<'EOF'
web/client.js
<<<<<<< SEARCH
const RETRIES = 2;
=======
const RETRIES = 3;
>>>>>>> REPLACE

<<<<<<< SEARCH
const API_BASE = "/api";
=======
const API_BASE = "/api/v2";
>>>>>>> REPLACE
EOF
	run -0 bash -c 'jq -j .content <<<"$1" | sed -n 2,3p' _ "$output"
	assert_output - <<'EOF'
const API_BASE = "/api/v2";
const RETRIES = 3;
EOF
}

@test "search-replace: an empty SEARCH creates a file, and only when it is absent or empty" {
	run -0 apply search-replace <<'EOF'
src/util/ids.py
```python
<<<<<<< SEARCH
=======
def new_id():
    return 1
>>>>>>> REPLACE
```
EOF
	run -0 jq -r '"\(.path) \(.action) [\(.base_sha256)]", .diff' <<<"$output"
	assert_output - <<'EOF'
src/util/ids.py create []
--- /dev/null
+++ b/src/util/ids.py
@@ -0,0 +1,2 @@
+def new_id():
+    return 1
EOF
	: >c/empty.txt
	printf 'empty.txt\n<<<<<<< SEARCH\n=======\nfilled\n>>>>>>> REPLACE\n' | apply search-replace >out
	[ "$(jq -r '"\(.action) \(.content)"' out)" = "modify filled" ]
	run -1 apply search-replace <<'EOF'
src/orders.py
<<<<<<< SEARCH
=======
print("hello")
>>>>>>> REPLACE
EOF
	assert_output 'error: src/orders.py: empty SEARCH but the file exists (block 1): quote the lines to replace'
}

@test "search-replace: trailing whitespace is ignored when the exact text is not found" {
	printf 'src/orders.py\n<<<<<<< SEARCH\nTIMEOUT_S = 2   \t\n=======\nTIMEOUT_S = 5\n>>>>>>> REPLACE\n' >answer
	run -0 bash -c '"$EDITS" search-replace c <answer | jq -j .content | grep ^TIMEOUT_S'
	assert_output 'TIMEOUT_S = 5'
	run -1 apply --exact search-replace <answer
	assert_output --partial 'SEARCH text not found'
}

@test "search-replace: an indentation shift is tolerated and the replacement re-indented by it" {
	# Less indented than the file: the replacement gets the 8 spaces back.
	run -0 apply search-replace <<'EOF'
src/orders.py
<<<<<<< SEARCH
if response.status_code == 200:
    return True
time.sleep(0.5)
=======
if response.status_code == 200:
    return True
if response.status_code < 500:
    return False
time.sleep(0.5)
>>>>>>> REPLACE
EOF
	run -0 bash -c 'jq -j .content <<<"$1" | sed -n 35,40p' _ "$output"
	assert_output - <<'EOF'
            if response.status_code == 200:
                return True
            if response.status_code < 500:
                return False
            time.sleep(0.5)
        return False
EOF
	# More indented than the file: the extra indentation comes off.
	run -0 apply search-replace <<'EOF'
web/client.js
<<<<<<< SEARCH
        export function loadOrder(id) {
          return fetchJSON("/orders/" + encodeURIComponent(id));
        }
=======
        export function loadOrder(id) {
          return fetchJSON("/orders/" + encodeURIComponent(String(id)));
        }
>>>>>>> REPLACE
EOF
	run -0 bash -c 'jq -j .content <<<"$1" | sed -n 21,23p' _ "$output"
	assert_output - <<'EOF'
export function loadOrder(id) {
  return fetchJSON("/orders/" + encodeURIComponent(String(id)));
}
EOF
}

@test "search-replace: lines whose indentation differs unevenly do not match" {
	run -1 apply search-replace <<'EOF'
src/orders.py
<<<<<<< SEARCH
    if response.status_code == 200:
    return True
=======
    if response.status_code == 201:
        return True
>>>>>>> REPLACE
EOF
	assert_output --partial 'src/orders.py: SEARCH text not found (block 1)'
}

@test "search-replace: a flexible match leaves the lines the edit keeps as the file has them" {
	printf 'def f():\n    x = 1   \n    return x\n' >c/w.py
	run -0 apply search-replace <<'EOF'
w.py
<<<<<<< SEARCH
    x = 1
    return x
=======
    x = 1
    return x + 1
>>>>>>> REPLACE
EOF
	run -0 jq -j .content <<<"$output"
	assert_output "$(printf 'def f():\n    x = 1   \n    return x + 1')"
}

@test "search-replace: file names as models write them" {
	local name
	for name in 'config/service.json' '`config/service.json`' '**config/service.json**' '# config/service.json' \
		'### `config/service.json`' 'File: config/service.json' '**File:** `config/service.json`' \
		'config/service.json:' './config/service.json' '- config/service.json' '1. config/service.json'; do
		printf '%s\n```json\n<<<<<<< SEARCH\n    "retries": 3\n=======\n    "retries": 5\n>>>>>>> REPLACE\n```\n' \
			"$name" >answer
		run -0 apply search-replace <answer
		[ "$(jq -r .path <<<"$output")" = config/service.json ] || { echo "$name: $output"; return 1; }
	done
	# One existing file named in the prose line before the block.
	printf 'In `config/service.json`, raise the retries:\n```json\n<<<<<<< SEARCH\n    "retries": 3\n=======\n    "retries": 5\n>>>>>>> REPLACE\n```\n' >answer
	run -0 apply search-replace <answer
	[ "$(jq -r .path <<<"$output")" = config/service.json ]
}

@test "search-replace: CRLF answers apply to LF files, and CRLF files keep their line ends" {
	printf 'src/orders.py\r\n<<<<<<< SEARCH\r\nTIMEOUT_S = 2\r\n=======\r\nTIMEOUT_S = 5\r\n>>>>>>> REPLACE\r\n' >answer
	apply search-replace <answer | jq -j .content >got
	[ "$(grep -c $'\r' got)" = 0 ]
	grep -qx 'TIMEOUT_S = 5' got
	printf 'a = 1\r\nb = 2\r\n' >c/dos.py
	printf 'dos.py\n<<<<<<< SEARCH\nb = 2\n=======\nb = 3\nc = 4\n>>>>>>> REPLACE\n' | apply search-replace >out
	jq -j .content out >got
	printf 'a = 1\r\nb = 3\r\nc = 4\r\n' | cmp - got
}

@test "search-replace: rejections with their reasons" {
	run -1 apply search-replace <"$CORPUS/search-replace/ambiguous.answer"
	assert_output 'error: src/orders.py: SEARCH text matches 2 places (block 1): include more lines to make it unique'
	run -1 apply search-replace <"$CORPUS/search-replace/not-found.answer"
	assert_output 'error: src/orders.py: SEARCH text not found (block 1): copy the lines exactly as they are in the file'
	run -1 apply search-replace <"$CORPUS/search-replace/wrong-path.answer"
	assert_output 'error: src/order.py: no such file (block 1): an empty SEARCH creates one'
	run -1 apply search-replace <"$CORPUS/search-replace/truncated.answer"
	assert_output 'error: src/orders.py: SEARCH block at line 3 without its >>>>>>> REPLACE line (answer cut short?)'
	run -1 apply search-replace < <(printf 'x.py\n<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n')
	assert_output 'error: x.py: SEARCH block at line 2 without its ======= line (answer cut short?)'
	run -1 apply search-replace <"$CORPUS/search-replace/no-path.answer"
	assert_output 'error: no file path before the SEARCH block at line 4 of the answer'
	run -1 apply search-replace <<<'I could not find anything to change.'
	assert_output 'error: no edits found in the answer'
	run -1 apply search-replace </dev/null
	assert_output 'error: no edits found in the answer'
	run -1 apply search-replace <"$CORPUS/search-replace/lazy-replace.answer"
	assert_output --partial 'src/orders.py: the new text leaves code out ("# ... rest of the method unchanged ...")'
}

@test "search-replace: an answer that changes nothing is refused" {
	run -1 apply search-replace <<'EOF'
src/orders.py
<<<<<<< SEARCH
TIMEOUT_S = 2
=======
TIMEOUT_S = 2
>>>>>>> REPLACE
EOF
	assert_output 'error: the edits change nothing'
}

@test "--exact: only the well-formed answers apply, the tolerances are what the rest need" {
	run -0 apply --exact search-replace <"$CORPUS/search-replace/basic.answer"
	run -1 apply --exact search-replace <"$CORPUS/search-replace/wrong-indentation.answer"
	assert_output --partial 'SEARCH text not found'
	run -1 apply --exact udiff <"$CORPUS/udiff/misremembered-removed-line.answer"
	assert_output --partial 'hunk 1 not found'
}

@test "udiff: modify, create and delete" {
	run -0 apply udiff <"$CORPUS/udiff/git-style.answer"
	[ "$(jq -r .action <<<"$output")" = modify ]
	run -0 apply udiff <"$CORPUS/udiff/create.answer"
	run -0 jq -r '"\(.path) \(.action) [\(.base_sha256)]"' <<<"$output"
	assert_output 'src/retry.py create []'
	run -0 apply udiff <"$CORPUS/udiff/delete.answer"
	run -0 jq -r '"\(.path) \(.action) \(has("content")) \(.base_sha256)"' <<<"$output"
	assert_output "README.md delete false $(sha256sum <c/README.md | cut -c1-64)"
	run -0 bash -c '"$EDITS" udiff c <"$1" | jq -r .diff' _ "$CORPUS/udiff/delete.answer"
	assert_line --index 0 -- '--- a/README.md'
	assert_line --index 1 -- '+++ /dev/null'
}

@test "udiff: hunks are placed by content, whatever their line numbers" {
	run -0 apply udiff <<'EOF'
--- a/web/client.js
+++ b/web/client.js
@@ -900,3 +900,3 @@
 export function loadCustomer(id) {
-  return fetchJSON("/customers/" + encodeURIComponent(id));
+  return fetchJSON("/customers/" + id);
 }
EOF
	run -0 bash -c 'jq -j .content <<<"$1" | tail -n 2' _ "$output"
	assert_output - <<'EOF'
  return fetchJSON("/customers/" + id);
}
EOF
}

@test "udiff: misremembered context lines are dropped from the ends, one at a time" {
	run -0 apply udiff <"$CORPUS/udiff/misremembered-context.answer"
	run -1 apply --exact udiff <"$CORPUS/udiff/misremembered-context.answer"
	assert_output --partial 'hunk 1 not found'
}

@test "udiff: a misremembered removed line is placed by the context on both sides" {
	run -0 apply udiff <"$CORPUS/udiff/misremembered-removed-line.answer"
	run -0 bash -c 'jq -j .content <<<"$1" | sed -n 14p' _ "$output"
	assert_output '        self.timeout = max(1, timeout)'
	# Without context on one side there is nothing to place it by.
	run -1 apply udiff <<'EOF'
--- a/src/orders.py
+++ b/src/orders.py
@@ ... @@
         self.base_url = base_url
-        self.timeout = timeout_s
+        self.timeout = max(1, timeout)
EOF
	assert_output 'error: src/orders.py: hunk 1 not found: its context and removed lines must be as in the file'
}

@test "udiff: a hunk that matches several places is refused, even with context dropped" {
	run -1 apply udiff <"$CORPUS/udiff/ambiguous.answer"
	assert_output 'error: src/orders.py: hunk 1 matches 2 places: include more context lines'
	# A wrong context line, and without it the rest matches twice.
	run -1 apply udiff <<'EOF'
--- a/src/orders.py
+++ b/src/orders.py
@@ ... @@
         response = self.session.get(url, timeout=self.timeout, verify=True)
         if response.status_code != 200:
-            return None
+            return {}
         return response.json()
EOF
	assert_output --partial 'hunk 1 matches 2 places'
}

@test "udiff: hunks are numbered in the answer's reasons, and a second file's hunk is checked too" {
	run -1 apply udiff <<'EOF'
--- a/web/client.js
+++ b/web/client.js
@@ ... @@
-const RETRIES = 2;
+const RETRIES = 3;
--- a/config/service.json
+++ b/config/service.json
@@ ... @@
-    "retries": 4
+    "retries": 5
EOF
	assert_output --partial 'error: config/service.json: hunk 2 not found'
}

@test "udiff: a file's first hunk without its @@ line, and headers with timestamps" {
	run -0 apply udiff <<'EOF'
--- web/client.js	2024-05-01 10:00:00.000000000 +0200
+++ web/client.js	2024-05-01 10:05:00.000000000 +0200
 const API_BASE = "/api";
-const RETRIES = 2;
+const RETRIES = 3;
EOF
	[ "$(jq -r .path <<<"$output")" = web/client.js ]
}

@test "udiff: \\ No newline at end of file" {
	printf 'a\nb' >c/n.txt
	run -0 apply udiff <<'EOF'
--- a/n.txt
+++ b/n.txt
@@ -1,2 +1,2 @@
 a
-b
\ No newline at end of file
+b
EOF
	run -0 jq -j .content <<<"$output"
	assert_output "$(printf 'a\nb')"
	# The marker after a removed line only: the new last line has its newline.
	printf -- '--- a/n.txt\n+++ b/n.txt\n@@\n a\n-b\n\\ No newline at end of file\n+c\n' | apply udiff | jq -j .content >got
	printf 'a\nc\n' | cmp - got
	printf -- '--- a/n.txt\n+++ b/n.txt\n@@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n' |
		apply udiff | jq -j .content >got
	printf 'a\nc' | cmp - got
}

@test "udiff: refusals: renames, creating an existing file, deleting a missing one, no header, cut short" {
	run -1 apply udiff <<<$'--- a/web/client.js\n+++ b/web/api.js\n@@\n-const RETRIES = 2;\n+const RETRIES = 3;'
	assert_output --partial 'renames are not supported'
	run -1 apply udiff <<<$'--- /dev/null\n+++ b/README.md\n@@\n+# x'
	assert_output 'error: README.md: the diff creates it from /dev/null but it exists'
	run -1 apply udiff <<<$'--- a/gone.txt\n+++ /dev/null\n@@\n-x'
	assert_output 'error: gone.txt: no such file (a diff from /dev/null creates one)'
	run -1 apply udiff <"$CORPUS/udiff/no-file-header.answer"
	assert_output 'error: hunk at line 2 of the answer has no ---/+++ file header'
	run -1 apply udiff <"$CORPUS/udiff/truncated.answer"
	assert_output 'error: code block at line 1 not closed (answer cut short?)'
	run -1 apply udiff <"$CORPUS/udiff/lazy.answer"
	assert_output --partial 'web/client.js: the new text leaves code out'
}

@test "whole: create, replace, several files, and command blocks after them are skipped" {
	run -0 apply whole <"$CORPUS/whole/two-files.answer"
	run -0 jq -r '"\(.path) \(.action)"' <<<"$output"
	assert_output - <<'EOF'
config/service.json modify
web/client.js modify
EOF
	run -0 apply whole <"$CORPUS/whole/create.answer"
	[ "$(jq -r .action <<<"$output")" = create ]
	run -0 apply whole <"$CORPUS/whole/trailing-command-block.answer"
	[ "$(jq -r .path <<<"$output")" = config/service.json ]
}

@test "whole: the path in a comment on the block's first line, dropped unless the file starts with it" {
	run -0 apply whole <"$CORPUS/whole/path-in-first-line.answer"
	run -0 bash -c 'jq -j .content <<<"$1" | head -n 1' _ "$output"
	assert_output '// Browser client for the orders API.'
	printf '# tools/gen.py\nx = 1\n' >c/gen.py
	printf '```python\n# gen.py\nx = 2\n```\n' | apply whole >out
	[ "$(jq -r .content out)" = 'x = 2' ]
	mkdir c/tools
	printf '# tools/gen.py\nx = 1\n' >c/tools/gen.py
	printf '```python\n# tools/gen.py\nx = 2\n```\n' | apply whole >out
	[ "$(jq -r .content out)" = $'# tools/gen.py\nx = 2' ]
	# A shebang names no file.
	run -1 apply whole <<<$'```python\n#!/usr/bin/env python3\nprint(1)\n```'
	assert_output 'error: no file path before the code block at line 1 of the answer'
}

@test "whole: a CRLF file gets its line ends back" {
	printf 'a\r\nb\r\n' >c/dos.txt
	printf 'dos.txt\n```\na\nc\n```\n' | apply whole >out
	jq -j .content out >got
	printf 'a\r\nc\r\n' | cmp - got
}

@test "whole: refusals: elided code, a diff or SEARCH markers in the block, no path, cut short" {
	run -1 apply whole <"$CORPUS/whole/lazy.answer"
	assert_output --partial 'src/orders.py: the new text leaves code out ("# ... rest of the file unchanged ...")'
	run -1 apply whole <"$CORPUS/whole/diff-in-block.answer"
	assert_output 'error: src/orders.py: the block holds a diff, not the whole file'
	printf 'x.py\n```\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n' >answer
	run -1 apply whole <answer
	assert_output 'error: x.py: the block holds SEARCH/REPLACE markers, not the whole file'
	run -1 apply whole <"$CORPUS/whole/no-path.answer"
	assert_output 'error: no file path before the code block at line 3 of the answer'
	run -1 apply whole <"$CORPUS/whole/truncated.answer"
	assert_output 'error: src/orders.py: code block at line 2 not closed (answer cut short?)'
	run -1 apply whole <"$CORPUS/whole/no-fence.answer"
	assert_output 'error: no edits found in the answer'
	# A comment that the file already has is not an elision.
	printf '# ... rest of the setup is in setup.py ...\nx = 1\n' >c/s.py
	printf 's.py\n```\n# ... rest of the setup is in setup.py ...\nx = 2\n```\n' | apply whole >out
	[ "$(jq -r .action out)" = modify ]
}

@test "paths: sb_path_safe" {
	run -0 "$EDITS" --safe src/x.py x ./x a//b .hidden 'sp ace' '../x' 'a/../b' '..' '/etc/passwd' '' \
		"$(printf 'a\nb')" 'a/..'
	assert_output - <<EOF
safe src/x.py
safe x
safe ./x
safe a//b
safe .hidden
safe sp ace
unsafe ../x
unsafe a/../b
unsafe ..
unsafe /etc/passwd
unsafe 
unsafe $(printf 'a\nb')
unsafe a/..
EOF
}

@test "paths: absolute, .. and NUL are refused; ./ and // are normalised" {
	run -1 apply whole <<<$'/tmp/x.py\n```\nx\n```'
	assert_output 'error: /tmp/x.py: path outside the component (absolute path)'
	run -1 apply whole <<<$'src/../../x.py\n```\nx\n```'
	assert_output 'error: src/../../x.py: path outside the component'
	printf 'src/x\0.py\n```\nx\n```\n' >answer
	run -1 apply whole <answer
	assert_output 'error: file path with a NUL byte'
	run -0 apply whole <<<$'./src//new.py\n```\nx = 1\n```'
	[ "$(jq -r .path <<<"$output")" = src/new.py ]
	run -1 apply whole <<<$'**src**\n```\nx = 1\n```'
	assert_output 'error: src: not a regular file'
	# The root may be given with a trailing slash.
	run -0 "$EDITS" whole c/ <<<$'src/new/deep.py\n```\nx = 1\n```'
	[ "$(jq -r '"\(.path) \(.action)"' <<<"$output")" = 'src/new/deep.py create' ]
}

@test "paths: symbolic links may not lead out of the component" {
	mkdir outside
	printf 'secret\n' >outside/s.txt
	ln -s "$PWD/outside" c/linkdir
	ln -s "$PWD/outside/s.txt" c/linkfile
	ln -s "$PWD/outside/none.txt" c/dangling.txt
	ln -s src/orders.py c/inside.py
	run -1 apply whole <<<$'linkdir/s.txt\n```\nx\n```'
	assert_output 'error: linkdir/s.txt: path outside the component (through a symbolic link)'
	run -1 apply whole <<<$'linkdir/new/deep.txt\n```\nx\n```'
	assert_output 'error: linkdir/new/deep.txt: path outside the component (through a symbolic link)'
	run -1 apply search-replace <<<$'linkfile\n<<<<<<< SEARCH\nsecret\n=======\nx\n>>>>>>> REPLACE'
	assert_output 'error: linkfile: path outside the component (through a symbolic link)'
	run -1 apply whole <<<$'dangling.txt\n```\nx\n```'
	assert_output 'error: dangling.txt: dangling symbolic link'
	run -0 apply search-replace <<<$'inside.py\n<<<<<<< SEARCH\nTIMEOUT_S = 2\n=======\nTIMEOUT_S = 3\n>>>>>>> REPLACE'
	[ "$(jq -r .path <<<"$output")" = inside.py ]
	# A component reached through a link is fine.
	ln -s c comp
	run -0 "$EDITS" search-replace comp <"$CORPUS/search-replace/basic.answer"
}

@test "files are only read, never written" {
	local before
	before=$(find c -type f -exec sha256sum {} + | sort)
	apply search-replace <"$CORPUS/search-replace/create-and-use.answer" >/dev/null
	apply udiff <"$CORPUS/udiff/delete.answer" >/dev/null
	apply whole <"$CORPUS/whole/two-files.answer" >/dev/null
	[ "$(find c -type f -exec sha256sum {} + | sort)" = "$before" ]
	[ ! -e c/src/retry.py ]
}

@test "sb_file_change_for: create, modify, delete, and the same path checks" {
	run -0 "$EDITS" --for c src/new.py <<<'x = 1'
	run -0 jq -r '"\(.action) [\(.base_sha256)] \(.content)"' <<<"$output"
	assert_output 'create [] x = 1'
	printf '{}\n' | "$EDITS" --for c config/service.json >out
	[ "$(jq -r '"\(.action) \(.base_sha256)"' out)" = "modify $(sha256sum <c/config/service.json | cut -c1-64)" ]
	jq -r .diff out | grep -qx -- '-    "retries": 3'
	run -0 "$EDITS" --for c README.md --delete
	[ "$(jq -r '"\(.action) \(has("content"))"' <<<"$output")" = 'delete false' ]
	run -1 "$EDITS" --for c missing.txt --delete
	assert_output 'error: missing.txt: no such file to delete'
	run -1 "$EDITS" --for c ../x.txt <<<'x'
	assert_output 'error: ../x.txt: path outside the component'
	run -1 "$EDITS" --for nonexistent x.txt <<<'x'
	assert_output --partial 'error: nonexistent: '
}

@test "prompts: each format's own example is an answer its parser applies" {
	mkdir -p p/src
	printf 'UPSTREAM = "http://orders.internal:8080"\nTIMEOUT_S = 2\n' >p/src/app.py
	local fmt
	for fmt in search-replace udiff whole; do
		"$EDITS" --prompt "$fmt" | sed -n '/^Example:$/,$p' | sed 1d >answer
		run -0 "$EDITS" "$fmt" p <answer
		[ -n "$output" ] || { echo "$fmt"; return 1; }
	done
}
