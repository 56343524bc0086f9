#!/usr/bin/env bats
# lib/stackframe: the top frame of Python, Java, Go and Node.js stack traces
# in text, through the small driver test/stackframe.c.

setup_file() {
	load helpers/driver
	build_driver STACKFRAME test/stackframe.c
}

setup() {
	load test_helper/common
}

# The frame of the text given with printf's escapes (\t, \r\n).
frame() {
	printf '%b' "$1" | "$STACKFRAME"
}

@test "python: the last File line is where the error was raised" {
	run -0 "$STACKFRAME" <<'EOF'
Traceback (most recent call last):
  File "/app/main.py", line 10, in <module>
    main()
  File "/app/x.py", line 42, in handler
    raise ValueError("bad order")
ValueError: bad order
EOF
	assert_output "/app/x.py:42 in handler"
	run -0 frame 'Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\nZeroDivisionError: division by zero\n'
	assert_output "<stdin>:1 in <module>"
}

@test "python: of chained exceptions, the one printed last, which propagated" {
	run -0 "$STACKFRAME" <<'EOF'
Traceback (most recent call last):
  File "/app/db.py", line 7, in fetch
    return conn.execute(q)
KeyError: 'id'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/main.py", line 3, in <module>
    fetch()
  File "/app/db.py", line 9, in fetch
    raise LookupError("no row")
LookupError: no row
EOF
	assert_output "/app/db.py:9 in fetch"
	run -0 "$STACKFRAME" <<'EOF'
Traceback (most recent call last):
  File "/app/db.py", line 7, in fetch
KeyError: 'id'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/api.py", line 21, in get
    raise NotFound() from e
NotFound
EOF
	assert_output "/app/api.py:21 in get"
}

@test "python: a SyntaxError's frame has no function; exception groups have margins" {
	run -0 "$STACKFRAME" <<'EOF'
Traceback (most recent call last):
  File "/app/main.py", line 1, in <module>
    import conf
  File "/app/conf.py", line 3
    x = = 1
        ^
SyntaxError: invalid syntax
EOF
	assert_output "/app/conf.py:3"
	run -0 "$STACKFRAME" <<'EOF'
  + Exception Group Traceback (most recent call last):
  |   File "/app/tasks.py", line 12, in run
  |     raise ExceptionGroup("tasks", errors)
  | ExceptionGroup: tasks (1 sub-exception)
  +-+---------------- 1 ----------------
    | ValueError: 1
    +------------------------------------
EOF
	assert_output "/app/tasks.py:12 in run"
}

@test "java: the first at line, also of a Caused by chain" {
	run -0 frame 'java.lang.IllegalStateException: boom\n\tat com.foo.Bar.method(Bar.java:42)\n\tat com.foo.Main.main(Main.java:5)\n'
	assert_output "Bar.java:42 in com.foo.Bar.method"
	run -0 frame 'Exception in thread "main" java.lang.RuntimeException: wrapped\n\tat com.foo.Service.call(Service.java:88)\n\tat com.foo.Main.main(Main.java:5)\nCaused by: java.io.IOException: disk\n\tat com.foo.Io.read(Io.java:7)\n\tat com.foo.Service.call(Service.java:80)\n\t... 1 more\n'
	assert_output "Service.java:88 in com.foo.Service.call"
}

@test "java: native methods, unknown sources, modules, inner classes and logback's jar suffix" {
	run -0 frame 'java.lang.InterruptedException: sleep interrupted\n\tat java.base/java.lang.Thread.sleep(Native Method)\n\tat com.foo.Worker.run(Worker.java:30)\n'
	assert_output "java.lang.Thread.sleep"
	run -0 frame 'java.lang.NullPointerException\n\tat com.foo.a.b(Unknown Source)\n'
	assert_output "com.foo.a.b"
	run -0 frame 'java.lang.NullPointerException\n\tat app//com.foo.Bar$Inner.lambda$run$0(Bar.java:17)\n'
	assert_output 'Bar.java:17 in com.foo.Bar$Inner.lambda$run$0'
	run -0 frame 'java.lang.IllegalArgumentException: x\n\tat com.foo.Bar.<init>(Bar.java:9) ~[app.jar:1.4.2]\n'
	assert_output "Bar.java:9 in com.foo.Bar.<init>"
	run -0 frame 'java.lang.Error\n    at com.foo.Gen.apply(Gen.java)\n'
	assert_output "Gen.java in com.foo.Gen.apply"
}

@test "go: runtime and panic frames are skipped to the first frame in user code" {
	run -0 frame 'panic: order is nil\n\ngoroutine 1 [running]:\npanic({0x45e400?, 0x4b1f58?})\n\t/usr/local/go/src/runtime/panic.go:884 +0x213\nmain.handler(0x1, 0x2)\n\t/app/main.go:42 +0x1d\nmain.main()\n\t/app/main.go:10 +0x25\nexit status 2\n'
	assert_output "/app/main.go:42 in main.handler"
	run -0 frame 'panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47f8e2]\n\ngoroutine 7 [running]:\nmain.(*Server).serve(0x0, {0xc0000a0000, 0x3})\n\t/app/server.go:57 +0x22\ncreated by main.main in goroutine 1\n\t/app/main.go:20 +0x5e\n'
	assert_output "/app/server.go:57 in main.(*Server).serve"
}

@test "go: stacks without arguments (runtime/debug, loggers) and a trace of runtime frames only" {
	run -0 frame 'goroutine 1 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:24 +0x5e\nexample.com/app/store.Get(...)\n\t/src/store/get.go:15\n'
	assert_output "/src/store/get.go:15 in example.com/app/store.Get"
	run -0 frame 'main.main\n\t/app/main.go:42\nruntime.main\n\t/usr/local/go/src/runtime/proc.go:250\n'
	assert_output "/app/main.go:42 in main.main"
	run -0 frame 'fatal error: out of memory\n\ngoroutine 1 [running]:\nruntime.throw({0x4b0c1a?, 0x0?})\n\t/usr/local/go/src/runtime/panic.go:1047 +0x5d\nruntime.mallocgc(0x10)\n\t/usr/local/go/src/runtime/malloc.go:900 +0x7e\n'
	assert_output "/usr/local/go/src/runtime/panic.go:1047 in runtime.throw"
}

@test "node: named, anonymous, async and built-in frames" {
	run -0 "$STACKFRAME" <<'EOF'
TypeError: Cannot read properties of undefined (reading 'id')
    at handler (/app/index.js:42:13)
    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)
EOF
	assert_output "/app/index.js:42 in handler"
	run -0 frame 'Error: boom\n    at /app/index.js:42:13\n    at Array.forEach (<anonymous>)\n'
	assert_output "/app/index.js:42"
	run -0 frame 'Error: timeout\n    at async fetchOrder (file:///app/orders.mjs:7:3)\n'
	assert_output "file:///app/orders.mjs:7 in fetchOrder"
	run -0 frame 'SyntaxError: Unexpected token\n    at JSON.parse (<anonymous>)\n    at Object.<anonymous> (/app/conf.js:3:6)\n'
	assert_output "JSON.parse"
	run -0 frame 'Error\n    at new Client (C:\\app\\client.js:12:11)\n'
	assert_output 'C:\app\client.js:12 in new Client'
}

@test "no trace: a plain message, prose with 'at', a header without frames, nothing" {
	run -0 frame 'connection refused by upstream at 10.0.0.7:5432\n'
	assert_output none
	run -0 frame 'job failed\nretry at 10:30:15\nat least(3) attempts\n  at the gate (north)\n'
	assert_output none
	run -0 frame 'Traceback (most recent call last):\n'
	assert_output none
	run -0 frame 'java.lang.NullPointerException: null\n'
	assert_output none
	run -0 frame ''
	assert_output none
}

@test "truncated traces: the last complete frame, or none" {
	run -0 frame 'Traceback (most recent call last):\n  File "/app/main.py", line 10, in <module>\n    main()\n  File "/app/x.py", li'
	assert_output "/app/main.py:10 in <module>"
	run -0 frame 'java.lang.IllegalStateException: boom\n\tat com.foo.Bar.meth'
	assert_output none
	run -0 frame 'goroutine 1 [running]:\npanic({0x45e400?, 0x4b1f58?})\n\t/usr/local/go/src/runtime/panic.go:884 +0x213\nmain.handler(0x1, 0x2)\n'
	assert_output "/usr/local/go/src/runtime/panic.go:884 in panic"
	run -0 frame 'TypeError: x\n    at handler (/app/index.js:42:1'
	assert_output none
	run -0 frame '  File "/app/x.py", line 42, in handler\n    raise ValueError()\nValueError\n'
	assert_output "/app/x.py:42 in handler"
}

@test "CRLF line endings" {
	run -0 frame 'Traceback (most recent call last):\r\n  File "/app/x.py", line 42, in handler\r\nValueError\r\n'
	assert_output "/app/x.py:42 in handler"
	run -0 frame 'java.lang.Error\r\n\tat com.foo.Bar.method(Bar.java:42)\r\n'
	assert_output "Bar.java:42 in com.foo.Bar.method"
	run -0 frame 'goroutine 1 [running]:\r\nmain.handler()\r\n\t/app/main.go:42 +0x1d\r\n'
	assert_output "/app/main.go:42 in main.handler"
	run -0 frame 'Error\r\n    at handler (/app/index.js:42:13)\r\n'
	assert_output "/app/index.js:42 in handler"
}
