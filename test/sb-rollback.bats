#!/usr/bin/env bats
# sb-rollback on the sample component of test/helpers/deploy.bash: by id,
# from verdicts and deployment records, later deployments in the way
# (--cascade), the feature flag and --dry-run, a failing health check,
# tampered or hostile pre-image archives, recovery of an interrupted
# rollback, usage errors.

# The standard change is the same for every test: validate it once (jq is slow to start).
setup_file() {
	(
		root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
		export FIXTURES=$root/test/fixtures PATH=$root/bin:$PATH HOME=$BATS_FILE_TMPDIR LC_ALL=C
		for v in $(env | sed -n 's/^\(SB_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
		unset XDG_CONFIG_HOME XDG_STATE_HOME
		. "$BATS_TEST_DIRNAME/helpers/deploy.bash"
		cd "$BATS_FILE_TMPDIR" && deploy_setup && standard_change >standard.ndjson
	)
}

setup() {
	load test_helper/common
	load helpers/deploy
	deploy_setup
	export SB_ACTOR=tester
	JOURNAL=$SB_STATE_DIR/deployments.ndjson
	AUDIT=$SB_STATE_DIR/audit.ndjson
	# Old, distinct times, so a restored mtime cannot pass by being "now".
	touch -d '2020-01-02 03:04:05' shop/config.json shop/OVERVIEW.md shop/src/app.py
	ORIGINAL=$(tree_sum shop)
}

# deploy [CHANGE-RECORDS]: deploy them (default: the standard change c1); the
# deployment's id in $DEP, its archive in $SNAP, the tree after it in $DEPLOYED
deploy() {
	if [ $# -eq 0 ]; then
		cp "$BATS_FILE_TMPDIR/standard.ndjson" ch.ndjson
	else
		printf '%s\n' "$1" >ch.ndjson
	fi
	sb-deploy --yes ch.ndjson >dep.ndjson
	local st snap
	IFS=$'\t' read -r st DEP snap < <(jq -r '[.status, .id, .snapshot] | @tsv' dep.ndjson)
	assert_equal "$st" deployed
	SNAP=$SB_STATE_DIR/$snap
	DEPLOYED=$(tree_sum shop)
}

# lines FILE: how many lines it has (0 when it does not exist)
lines() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# status ID: the journal's merged view of deployment ID: status and phase
status() {
	jq -sc --arg d "$1" 'map(select(.deployment == $d)) | add | [.status, .phase]' "$JOURNAL"
}

# rec JQ [N]: JQ applied to record N (default the last) of $output; recr: raw
rec() {
	jq -sc ".[${2:--1}] | $1" <<<"$output"
}

recr() {
	jq -sr ".[${2:--1}] | $1" <<<"$output"
}

@test "by id: tree, modes and mtimes back; created dirs gone; reload, health, record, journal, audit; a second run is skipped" {
	mtimes=$(stat -c '%n %Y' shop/config.json shop/OVERVIEW.md)
	deploy
	[ -f shop/lib/extra/helper.py ]
	[ ! -e shop/OVERVIEW.md ]
	assert_equal "$(lines ctl/reloads)" 1
	journal=$(lines "$JOURNAL") audit=$(lines "$AUDIT")

	run -0 sb-rollback "$DEP"
	# The tree: bytes, modes, OVERVIEW.md back, the created file and both directories gone.
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	assert_equal "$(stat -c %a shop/config.json)" 640
	[ -f shop/OVERVIEW.md ]
	[ ! -e shop/lib ]
	assert_equal "$(stat -c '%n %Y' shop/config.json shop/OVERVIEW.md)" "$mtimes"
	assert_equal "$(find shop -name '.*sb-*' | wc -l)" 0
	# Reloaded once more, for this deployment; health ran once more (an in and an out line each).
	assert_equal "$(lines ctl/reloads)" 2
	assert_equal "$(tail -1 ctl/reloads)" "reload $DEP"
	assert_equal "$(grep -c '^in ' ctl/health)" 2
	# The record.
	assert_equal "$(jq -s length <<<"$output")" 1
	assert_equal "$(rec '[.type, .deployment, .change, .component, .status, .reason]')" \
		"[\"rollback\",\"$DEP\",\"c1\",\"shop\",\"rolled_back\",\"requested by tester\"]"
	assert_equal "$(rec .restored)" '["config.json","lib/extra/helper.py","OVERVIEW.md"]'
	assert_equal "$(rec '[.reload.ok, .reload.exit, .health.ok, .health.exit, .health.attempts, .health.output]')" \
		'[true,0,true,0,1,"ok\n"]'
	assert_regex "$(recr .ts)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
	# The journal: rollback_begin then rollback_done, nothing else; the deployment is rolled back.
	assert_equal "$(lines "$JOURNAL")" $((journal + 2))
	assert_equal "$(tail -2 "$JOURNAL" | jq -sc 'map([.deployment, .phase])')" \
		"[[\"$DEP\",\"rollback_begin\"],[\"$DEP\",\"rollback_done\"]]"
	assert_equal "$(tail -1 "$JOURNAL" | jq -c '[.status, .restored]')" \
		'["rolled_back",["config.json","lib/extra/helper.py","OVERVIEW.md"]]'
	assert_equal "$(status "$DEP")" '["rolled_back","rollback_done"]'
	# The audit log: one entry, chained to the one before.
	assert_equal "$(lines "$AUDIT")" $((audit + 1))
	assert_equal "$(tail -1 "$AUDIT" | jq -c '[.action, .deployment, .component, .status, .reason, .actor]')" \
		"[\"rollback\",\"$DEP\",\"shop\",\"rolled_back\",\"requested by tester\",\"tester\"]"
	assert_regex "$(tail -1 "$AUDIT" | jq -r .prev)" '^[0-9a-f]{64}$'
	assert_not_equal "$(tail -1 "$AUDIT" | jq -r .prev)" "$(head -1 "$AUDIT" | jq -r .prev)"

	# Again: nothing to do, and nothing done.
	journal=$(lines "$JOURNAL")
	run -0 sb-rollback "$DEP"
	assert_equal "$(rec '[.deployment, .status, .reason, .restored]')" "[\"$DEP\",\"skipped\",\"already rolled back\",[]]"
	assert_equal "$(lines "$JOURNAL")" "$journal"
	assert_equal "$(lines ctl/reloads)" 2
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
}

@test "from stdin: a rollback verdict rolls back with its reason; keep does nothing; other records pass unchanged" {
	deploy
	# keep (and pending): no rollback record, nothing changed; the metric passes byte for byte.
	journal=$(lines "$JOURNAL")
	metric='{"type":"metric",  "metric":"rps","value":1, "ts":"2026-11-25T10:00:00Z"}'
	printf '%s\n' "$metric" \
		"{\"type\":\"verdict\",\"deployment\":\"$DEP\",\"decision\":\"keep\",\"reason\":\"fine\"}" \
		"{\"type\":\"verdict\",\"deployment\":\"$DEP\",\"decision\":\"pending\",\"reason\":\"too early\"}" >in.ndjson
	run -0 sb-rollback in.ndjson
	assert_equal "$output" "$metric"
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	assert_equal "$(lines "$JOURNAL")" "$journal"
	assert_equal "$(lines ctl/reloads)" 1

	# rollback: forwarded records keep their place around the rollback record.
	log='{"type":"log","level":"ERROR","message":"x"}'
	printf '%s\n' "$metric" \
		"{\"type\":\"verdict\",\"deployment\":\"$DEP\",\"decision\":\"rollback\",\"reason\":\"latency_p95_ms +42%\"}" \
		"$log" >in.ndjson
	run -0 sb-rollback <in.ndjson
	assert_equal "$(jq -s length <<<"$output")" 3
	assert_equal "$(sed -n 1p <<<"$output")" "$metric"
	assert_equal "$(sed -n 3p <<<"$output")" "$log"
	assert_equal "$(rec '[.type, .deployment, .status, .reason]' 1)" \
		"[\"rollback\",\"$DEP\",\"rolled_back\",\"verdict: latency_p95_ms +42%\"]"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	assert_equal "$(grep -c rollback_begin "$JOURNAL")" 1
	assert_equal "$(jq -r 'select(.phase == "rollback_begin") | .reason' "$JOURNAL")" "verdict: latency_p95_ms +42%"
}

@test "from stdin: sb-deploy's output piped in rolls the deployment back; a deployment that did not go out is left alone" {
	cp "$BATS_FILE_TMPDIR/standard.ndjson" ch.ndjson
	run -0 bash -c 'sb-deploy --yes ch.ndjson | sb-rollback --reason "smoke test"'
	assert_equal "$(jq -s length <<<"$output")" 1
	dep=$(jq -r 'select(.phase == "begin") | .deployment' "$JOURNAL")
	assert_equal "$(rec '[.type, .deployment, .change, .status, .reason, .restored]')" \
		"[\"rollback\",\"$dep\",\"c1\",\"rolled_back\",\"smoke test\",[\"config.json\",\"lib/extra/helper.py\",\"OVERVIEW.md\"]]"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	assert_equal "$(status "$dep")" '["rolled_back","rollback_done"]'
	# A deployment record that is not "deployed": no rollback record.
	journal=$(lines "$JOURNAL")
	run -0 sb-rollback <<<"{\"type\":\"deployment\",\"id\":\"$dep\",\"status\":\"skipped\"}"
	assert_equal "$output" ""
	assert_equal "$(lines "$JOURNAL")" "$journal"
}

@test "a later deployment on the same file blocks the rollback; --cascade rolls both back, newest first" {
	deploy
	first=$DEP after_first=$DEPLOYED
	deploy "$(validated c2 "$(modify config.json "$(jq -c '.db.pool_size = 80' shop/config.json)")")"
	second=$DEP after_second=$DEPLOYED
	journal=$(lines "$JOURNAL") reloads=$(lines ctl/reloads)

	run -1 sb-rollback "$first"
	assert_equal "$(rec '[.deployment, .status]')" "[\"$first\",\"skipped\"]"
	assert_regex "$(recr .reason)" "later deployments touched the same files: .*\"$second\".*--cascade"
	assert_equal "$(tree_sum shop)" "$after_second"
	assert_equal "$(lines "$JOURNAL")" "$journal"
	assert_equal "$(lines ctl/reloads)" "$reloads"
	assert_equal "$(status "$first")" '["deployed","done"]'

	run -0 sb-rollback --cascade "$first"
	assert_equal "$(jq -sc 'map([.deployment, .status])' <<<"$output")" \
		"[[\"$second\",\"rolled_back\"],[\"$first\",\"rolled_back\"]]"
	assert_equal "$(recr .reason 0)" "cascade: rolling back $first"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	[ "$after_first" != "$ORIGINAL" ]
	assert_equal "$(status "$first")" '["rolled_back","rollback_done"]'
	assert_equal "$(status "$second")" '["rolled_back","rollback_done"]'
	# The journal saw the second one rolled back before the first began.
	assert_equal "$(tail -4 "$JOURNAL" | jq -sc 'map([.deployment, .phase])')" \
		"[[\"$second\",\"rollback_begin\"],[\"$second\",\"rollback_done\"],[\"$first\",\"rollback_begin\"],[\"$first\",\"rollback_done\"]]"
	assert_equal "$(tail -2 ctl/reloads)" "reload $second"$'\n'"reload $first"
}

@test "a later deployment on other files is no obstacle: the earlier one rolls back alone" {
	deploy
	first=$DEP
	deploy "$(validated c2 "$(modify src/app.py "$(cat shop/src/app.py; echo '# tuned')")")"
	second=$DEP app=$(sha shop/src/app.py)
	run -0 sb-rollback "$first"
	assert_equal "$(jq -sc 'map([.deployment, .status])' <<<"$output")" "[[\"$first\",\"rolled_back\"]]"
	assert_equal "$(sha shop/src/app.py)" "$app"
	assert_equal "$(sha shop/config.json)" "$(sha "$FIXTURES/components/shop/config.json")"
	[ -f shop/OVERVIEW.md ]
	[ ! -e shop/lib ]
	assert_equal "$(status "$second")" '["deployed","done"]'
}

@test "features.improvement_rollback false: planned, exit 1, nothing changed" {
	deploy
	deploy_config '{"features":{"improvement_rollback":false}}'
	journal=$(lines "$JOURNAL") audit=$(lines "$AUDIT")
	run -1 sb-rollback "$DEP"
	assert_equal "$(rec '[.deployment, .status, .reason, .restored]')" \
		"[\"$DEP\",\"planned\",\"would roll back; features.improvement_rollback is off\",[]]"
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	assert_equal "$(lines "$JOURNAL")" "$journal"
	assert_equal "$(lines "$AUDIT")" "$audit"
	assert_equal "$(lines ctl/reloads)" 1
	assert_equal "$(status "$DEP")" '["deployed","done"]'
}

@test "--dry-run: planned, exit 0, nothing changed, nothing journaled or audited" {
	deploy
	journal=$(lines "$JOURNAL") audit=$(lines "$AUDIT")
	run -0 sb-rollback --dry-run --reason why "$DEP"
	assert_equal "$(rec '[.deployment, .status, .reason]')" "[\"$DEP\",\"planned\",\"dry run: would roll back (why)\"]"
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	assert_equal "$(lines "$JOURNAL")" "$journal"
	assert_equal "$(lines "$AUDIT")" "$audit"
	assert_equal "$(lines ctl/reloads)" 1
	# And it still can be rolled back for real.
	run -0 sb-rollback "$DEP"
	assert_equal "$(rec .status)" '"rolled_back"'
}

@test "an unknown deployment id fails with exit 1; --reason goes into the record, the journal and the audit log" {
	deploy
	run -1 sb-rollback dep-0123456789abcdef
	assert_equal "$(rec '[.type, .deployment, .status, .reason]')" \
		'["rollback","dep-0123456789abcdef","failed","no deployment dep-0123456789abcdef in the journal"]'
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	assert_equal "$(tail -1 "$AUDIT" | jq -c '[.action, .deployment, .status]')" \
		'["rollback.refused","dep-0123456789abcdef","failed"]'

	run -0 sb-rollback --reason "p95 up 40% since 02:00" "$DEP"
	assert_equal "$(rec '[.status, .reason]')" '["rolled_back","p95 up 40% since 02:00"]'
	assert_equal "$(tail -1 "$AUDIT" | jq -c '[.action, .deployment, .reason]')" \
		"[\"rollback\",\"$DEP\",\"p95 up 40% since 02:00\"]"
	assert_equal "$(jq -r 'select(.phase == "rollback_begin") | .reason' "$JOURNAL")" "p95 up 40% since 02:00"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
}

@test "health failing after the rollback: files restored, rolled_back, exit 1" {
	deploy
	touch ctl/unhealthy
	run -1 sb-rollback --health-retries 2 "$DEP"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	assert_equal "$(rec '[.status, .reload.ok, .health.ok, .health.attempts, .health.exit, .health.output]')" \
		'["rolled_back",true,false,2,1,"503 from /health\n"]'
	assert_regex "$(recr .reason)" 'not healthy'
	assert_equal "$(grep -c '^in ' ctl/health)" 3
	assert_equal "$(status "$DEP")" '["rolled_back","rollback_done"]'
	assert_equal "$(tail -1 "$AUDIT" | jq -c '[.action, .status]')" '["rollback","rolled_back"]'
}

@test "a failing reload: files restored, no health check, rolled_back, exit 1" {
	deploy
	touch ctl/reload-fails
	run -1 sb-rollback "$DEP"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	assert_equal "$(rec '[.status, .reload.ok, .reload.exit, .health]')" '["rolled_back",false,1,null]'
	assert_equal "$(grep -c '^in ' ctl/health)" 1
}

# ---- hostile archives ----

# mkarchive: the genuine archive kept as genuine.tar.gz, and unpacked into a/
# (.sb-snapshot.json, the manifest, first; then config.json and OVERVIEW.md)
mkarchive() {
	cp "$SNAP" genuine.tar.gz
	mkdir -p a
	tar -C a -xzf genuine.tar.gz
	assert_equal "$(tar -tzf genuine.tar.gz | tr '\n' ' ')" '.sb-snapshot.json config.json OVERVIEW.md '
}

# refused PATTERN: sb-rollback fails with exit 1, its reason matching PATTERN;
# the component as deployed, no reload, the journal closed with rollback_status
# failed, the deployment still deployed, the refusal audited
refused() {
	local journal
	journal=$(lines "$JOURNAL")
	run -1 sb-rollback "$DEP"
	assert_regex "$output" "\"reason\":\"pre-image refused, nothing written: [^\"]*$1"
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	assert_equal "$(lines ctl/reloads)" 1
	assert_equal "$(lines "$JOURNAL")" $((journal + 2))
	# The record; the journal's last entry; the deployment as the journal sees it; the audit entry.
	assert_equal "$(jq -nc --arg d "$DEP" --argjson r "$output" --slurpfile j "$JOURNAL" --slurpfile a "$AUDIT" '
		[$r.deployment, $r.status, $r.restored],
		($j[-1] | [.deployment, .phase, .rollback_status, .status]),
		($j | map(select(.deployment == $d)) | add | [.status, .phase]),
		($a[-1] | [.action, .status])')" \
		"[\"$DEP\",\"failed\",[]]
[\"$DEP\",\"rollback_done\",\"failed\",null]
[\"deployed\",\"rollback_done\"]
[\"rollback.refused\",\"failed\"]"
}

# good_rollback: with the genuine archive back, the rollback works
good_rollback() {
	cp genuine.tar.gz "$SNAP"
	run -0 sb-rollback "$DEP"
	assert_equal "$(rec .status)" '"rolled_back"'
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
}

@test "archive with a ../ entry: refused, nothing written outside" {
	deploy
	mkarchive
	echo evil >evil.src
	mkdir -p b/in && cp -a a/. b/in/ && cp evil.src b/evil
	tar -C b/in -czf "$SNAP" -P .sb-snapshot.json config.json OVERVIEW.md ../evil
	assert_equal "$(tar -tzf "$SNAP" -P | tail -1)" ../evil
	refused "unexpected entry '\.\./evil'"
	[ ! -e evil ]          # shop/../evil
	[ ! -e shop/evil ]
	good_rollback
	[ ! -e evil ]
}

@test "archive with an absolute entry: refused, nothing written there" {
	deploy
	mkarchive
	target=$BATS_TEST_TMPDIR/abs-evil
	echo evil >"$target"
	tar -C a -czf "$SNAP" -P .sb-snapshot.json "$target" config.json OVERVIEW.md
	rm "$target"
	assert_equal "$(tar -tzf "$SNAP" -P | sed -n 2p)" "$target"
	refused "unexpected entry '$target'"
	[ ! -e "$target" ]
	good_rollback
	[ ! -e "$target" ]
}

@test "a manifest naming ../evil as an existing file, or an unsafe directory: refused" {
	deploy
	mkarchive
	echo evil >evil.src
	mkdir -p b/in && cp -a a/. b/in/ && cp evil.src b/evil
	jq -c --arg h "$(sha evil.src)" '.files += [{path: "../evil", existed: true, sha256: $h, mode: 420}]' \
		a/.sb-snapshot.json >b/in/.sb-snapshot.json
	tar -C b/in -czf "$SNAP" -P .sb-snapshot.json config.json OVERVIEW.md ../evil
	refused 'the manifest names an unsafe path: \.\./evil'
	[ ! -e evil ]
	# An absolute path, and a directory outside to remove.
	jq -c '.files[0].path = "/etc/hostname"' a/.sb-snapshot.json >b/in/.sb-snapshot.json
	tar -C b/in -czf "$SNAP" .sb-snapshot.json config.json OVERVIEW.md
	refused 'the manifest names an unsafe path: /etc/hostname'
	mkdir victim
	jq -c '.dirs += ["../victim"]' a/.sb-snapshot.json >b/in/.sb-snapshot.json
	tar -C b/in -czf "$SNAP" .sb-snapshot.json config.json OVERVIEW.md
	refused 'the manifest names an unsafe directory'
	[ -d victim ]
	good_rollback
	[ -d victim ]
}

@test "an entry whose bytes do not match the manifest's hash: refused" {
	deploy
	mkarchive
	mkdir -p b && cp -a a/. b/
	sed -i 's/shop/sh0p/' b/config.json
	tar -C b -czf "$SNAP" .sb-snapshot.json config.json OVERVIEW.md
	refused "entry 'config.json' does not match its hash in the manifest"
	# A missing entry, an extra one, and the manifest not first.
	tar -C a -czf "$SNAP" .sb-snapshot.json config.json
	refused "the bytes of 'OVERVIEW.md' are missing"
	tar -C a -czf "$SNAP" .sb-snapshot.json config.json OVERVIEW.md config.json
	refused "unexpected entry 'config.json'"
	tar -C a -czf "$SNAP" config.json .sb-snapshot.json OVERVIEW.md
	refused 'the first entry is not the manifest'
	# Not an archive at all.
	echo 'not a tar' >"$SNAP"
	refused "$SNAP"
	good_rollback
}

@test "a symbolic link planted where the snapshot writes into a directory: refused, nothing written through it" {
	deploy "$(validated c2 "$(modify src/app.py "$(cat shop/src/app.py; echo '# tuned')")")"
	cp "$SNAP" genuine.tar.gz
	mkdir outside
	cp shop/src/app.py outside/app.py
	outside=$(sha outside/app.py) mtime=$(stat -c %Y outside/app.py)
	mv shop/src src.saved
	ln -s "$BATS_TEST_TMPDIR/outside" shop/src
	DEPLOYED=$(tree_sum shop)
	refused 'src/app.py: src is a symbolic link'
	assert_equal "$(sha outside/app.py)" "$outside"
	assert_equal "$(stat -c %Y outside/app.py)" "$mtime"
	assert_equal "$(ls -A outside)" app.py
	assert_equal "$(readlink shop/src)" "$BATS_TEST_TMPDIR/outside"
	# The genuine directory back: the rollback goes through.
	rm shop/src
	mv src.saved shop/src
	good_rollback
	assert_equal "$(sha outside/app.py)" "$outside"
}

@test "a symbolic link planted where a created file's directory was: refused" {
	deploy
	mkdir -p outside/extra
	echo 'def helper(): return 2' >outside/extra/helper.py
	mv shop/lib lib.saved
	ln -s "$BATS_TEST_TMPDIR/outside" shop/lib
	cp "$SNAP" genuine.tar.gz
	DEPLOYED=$(tree_sum shop)
	refused 'lib/extra/helper.py: lib is a symbolic link'
	assert_equal "$(cat outside/extra/helper.py)" 'def helper(): return 2'
	rm shop/lib
	mv lib.saved shop/lib
	good_rollback
}

@test "a self-consistent archive that is not the journal's pre-image: refused" {
	deploy
	mkarchive
	mkdir -p b && cp -a a/. b/
	# Other bytes for config.json, with the manifest's hash made to match them.
	sed -i 's/shop/sh0p/' b/config.json
	jq -c --arg h "$(sha b/config.json)" '.files |= map(if .path == "config.json" then .sha256 = $h else . end)' \
		a/.sb-snapshot.json >b/.sb-snapshot.json
	tar -C b -czf "$SNAP" .sb-snapshot.json config.json OVERVIEW.md
	refused "the manifest's config.json is not the one the journal recorded"
	# A file the deployment never touched, named as not existing before: it would be deleted.
	jq -c '.files += [{"path": "src/app.py", "existed": false}]' a/.sb-snapshot.json >b/.sb-snapshot.json
	cp a/config.json b/config.json
	tar -C b -czf "$SNAP" .sb-snapshot.json config.json OVERVIEW.md
	refused "the manifest names 4 files, the journal 3"
	[ -f shop/src/app.py ]
	good_rollback
}

@test "a manifest whose created directories lead through a symbolic link: nothing removed outside" {
	deploy
	mkarchive
	mkdir -p outside/victim
	ln -s "$BATS_TEST_TMPDIR/outside" shop/lnk
	mkdir -p b && cp -a a/. b/
	jq -c '.dirs += ["lnk/victim"]' a/.sb-snapshot.json >b/.sb-snapshot.json
	tar -C b -czf "$SNAP" .sb-snapshot.json config.json OVERVIEW.md
	run -0 sb-rollback "$DEP"
	[ -d outside/victim ]
	assert_equal "$(readlink shop/lnk)" "$BATS_TEST_TMPDIR/outside"
	assert_equal "$(rec '[.status, .restored]')" '["rolled_back",["config.json","lib/extra/helper.py","OVERVIEW.md"]]'
	rm shop/lnk
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
}

@test "the archive of a deployment that went out is gone: failed, not rolled back" {
	deploy
	mv "$SNAP" gone.tar.gz
	run -1 sb-rollback "$DEP"
	assert_equal "$(rec '[.status, .restored]')" '["failed",[]]'
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	assert_equal "$(lines ctl/reloads)" 1
	assert_equal "$(status "$DEP")" '["deployed","rollback_done"]'
	mv gone.tar.gz "$SNAP"
	run -0 sb-rollback "$DEP"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
}

# ---- recovery ----

@test "an interrupted rollback whose archive is gone stays unfinished: not marked failed, recovered once it is back" {
	deploy
	printf '{"deployment":"%s","phase":"rollback_begin","reason":"x","ts":"2026-11-25T10:00:00Z"}\n' "$DEP" >>"$JOURNAL"
	mv "$SNAP" gone.tar.gz
	journal=$(lines "$JOURNAL")
	run -0 --separate-stderr sb-rollback </dev/null
	assert_regex "$stderr" "cannot recover deployment $DEP of shop: .*missing"
	assert_equal "$(lines "$JOURNAL")" "$journal"
	assert_equal "$(status "$DEP")" '["deployed","rollback_begin"]'
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	mv gone.tar.gz "$SNAP"
	run -0 --separate-stderr sb-rollback </dev/null
	assert_regex "$stderr" "recovered interrupted deployment $DEP"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	assert_equal "$(status "$DEP")" '["rolled_back","rollback_done"]'
}


@test "an interrupted rollback is finished by the next run: tree, journal, audit, message" {
	deploy
	printf '{"deployment":"%s","phase":"rollback_begin","reason":"x","ts":"2026-11-25T10:00:00Z"}\n' "$DEP" >>"$JOURNAL"
	# Part of it was put back before the crash, and something else changed too.
	cp "$FIXTURES/components/shop/OVERVIEW.md" shop/OVERVIEW.md
	echo '{}' >shop/config.json
	run -0 --separate-stderr sb-rollback </dev/null
	assert_equal "$output" ""
	assert_regex "$stderr" "^sb-rollback: recovered interrupted deployment $DEP of shop: 3 file\(s\) put back"
	assert_equal "$(tree_sum shop)" "$ORIGINAL"
	assert_equal "$(tail -1 "$JOURNAL" | jq -c '[.deployment, .phase, .status, .recovered, .restored]')" \
		"[\"$DEP\",\"rollback_done\",\"rolled_back\",true,[\"config.json\",\"lib/extra/helper.py\",\"OVERVIEW.md\"]]"
	assert_equal "$(tail -1 "$AUDIT" | jq -c '[.action, .deployment, .component, .tool]')" \
		"[\"deploy.recover\",\"$DEP\",\"shop\",\"sb-rollback\"]"
	assert_equal "$(tail -1 ctl/reloads)" "reload $DEP"
	# Nothing left to recover, and the deployment is rolled back.
	run -0 --separate-stderr sb-rollback "$DEP"
	assert_equal "$stderr" ""
	assert_equal "$(rec '[.status, .reason]')" '["skipped","already rolled back"]'
}

@test "--dry-run leaves an interrupted rollback alone and says so" {
	deploy
	printf '{"deployment":"%s","phase":"rollback_begin","reason":"x","ts":"2026-11-25T10:00:00Z"}\n' "$DEP" >>"$JOURNAL"
	journal=$(lines "$JOURNAL")
	run -0 --separate-stderr sb-rollback --dry-run </dev/null
	assert_regex "$stderr" "deployment $DEP of shop is unfinished"
	assert_equal "$(tree_sum shop)" "$DEPLOYED"
	assert_equal "$(lines "$JOURNAL")" "$journal"
}

# ---- usage ----

@test "usage errors exit 2: an unknown option, --health-retries 0" {
	run -2 sb-rollback --no-such-option
	assert_output --partial 'sb-rollback:'
	run -2 sb-rollback --health-retries 0 dep-0123456789abcdef
	assert_output --partial 'health-retries'
	run -2 sb-rollback --health-retries x
	run -0 sb-rollback --help
	assert_output --partial '--cascade'
	[ ! -e "$JOURNAL" ]
}
