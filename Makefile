# sb - build, install and test. See README.md.

VERSION    = 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR     = $(PREFIX)/bin
MANDIR     = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d

CC        ?= cc
OPT       ?= -O2
CFLAGS    ?=
LDFLAGS   ?=
SB_CFLAGS  = -std=c11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE \
             -DSB_VERSION='"$(VERSION)"' -Ilib -MMD -MP
SB_LIBS    = -ljq -lonig -larchive -lcurl -lcrypto -lmicrohttpd -lpthread -lm

# make SAN=1: AddressSanitizer and UndefinedBehaviorSanitizer, in a build
# directory of its own so the two builds never mix objects.
ifeq ($(SAN),1)
MODE       = san
OPT        = -O1
SB_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SB_LDFLAGS = -fsanitize=address,undefined
else
MODE       = release
endif

OBJDIR     = build/$(MODE)
TOOLS      = $(patsubst cmd/%.c,%,$(wildcard cmd/sb-*.c))
LIBSRC     = $(wildcard lib/*.c)
LIBOBJ     = $(patsubst lib/%.c,$(OBJDIR)/lib/%.o,$(LIBSRC))
LIBA       = $(OBJDIR)/libsb.a
BINS       = $(addprefix bin/,$(TOOLS))
UNIT       = build/sb-unit-tests
MANPAGES   = $(wildcard man/*.1 man/*.7)

.PHONY: all deps check test demo bench install uninstall clean

all: $(BINS) $(UNIT)

# bin/ holds the build of the last mode asked for: relink when it changes.
$(OBJDIR)/.mode: FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat build/.mode 2>/dev/null)" != "$(MODE)" ]; then echo $(MODE) > build/.mode; touch $@; fi
	@[ -f $@ ] || touch $@
FORCE:

$(OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

# Static pattern rules: the objects are named targets, never intermediate
# files that make might consider unneeded when bin/ is newer than sources.
$(BINS): bin/%: $(OBJDIR)/cmd/%.o $(LIBA) $(OBJDIR)/.mode
	@mkdir -p bin
	$(CC) $(SB_LDFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $< $(LIBA) $(SB_LIBS)

$(UNIT): $(OBJDIR)/test/unit.o $(LIBA) $(OBJDIR)/.mode
	@mkdir -p bin
	$(CC) $(SB_LDFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $< $(LIBA) $(SB_LIBS)

# Installs the Debian packages the build and the tests need (as root), or
# names the command to run (otherwise).
deps:
	@sh scripts/ensure-deps

check: deps
	@$(MAKE) --no-print-directory all
	@sh test/run

test: all
	@sh test/run

demo: deps
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh

bench: all
	@for b in bench/*; do [ -x "$$b" ] && "$$b"; done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do \
		install -m 644 completions/bash/sb $(DESTDIR)$(BASHCOMPDIR)/$$t || exit 1; \
	done
	install -m 644 completions/zsh/_sb $(DESTDIR)$(ZSHCOMPDIR)/_sb
	install -m 644 completions/fish/*.fish $(DESTDIR)$(FISHCOMPDIR)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(wildcard man/*.7)))
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(TOOLS))
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_sb
	rm -f $(addprefix $(DESTDIR)$(FISHCOMPDIR)/,$(notdir $(wildcard completions/fish/*.fish)))

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
