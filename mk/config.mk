# config.mk: toolchain, flags and verbosity.
#
# V=1 shows every command; by default each compiled file prints one
# short line.  Q prefixes quiet commands, and say prints the short line.

SHELL := /bin/bash

V ?= 0
ifeq ($(V),1)
Q :=
say = :
else
Q := @
say = printf '  %-7s %s\n'
endif

CC ?= cc
AR ?= ar
PKG_CONFIG ?= pkg-config
INSTALL ?= install

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/libexec/mkprov
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

O ?= $(TOP)/build

# The libraries every helper links; check is only for the unit tests.
PKGS := libcurl libssh2 yajl
CHECK_PKGS := check

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
	-Wformat=2 -Wundef -Wvla
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
# -O2 is ours, not CFLAGS', since _FORTIFY_SOURCE works only with
# optimisation; CFLAGS adds to it (and may override it on purpose).
CFLAGS ?= -g
MKP_CFLAGS = -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	$(WARN) $(HARDEN) -I$(TOP)/helpers/lib
MKP_LDFLAGS = -pie -Wl,-z,relro,-z,now

# pkg-config is asked only when a compile or link needs the answer, so
# that make help, make deps and make -n work before the -dev packages
# are installed; pkgs-known fails first, naming the package, rather
# than leaving the compiler to miss a header.
pkgs-known = for p in $(1); do $(PKG_CONFIG) --exists $$p || { \
	echo "make: $$p: pkg-config does not know it: run make deps" >&2; \
	exit 1; }; done
pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)
