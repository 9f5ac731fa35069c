# help.mk: make help lists the targets a user types, one line each.

define HELP_TEXT
mkprov: a production runbook turned into make targets

Getting started:
  make demo            run the whole runbook in the local sandbox
  make check           build everything and run all tests

Building:
  make                 build the helpers into $(O)
  make deps            install the missing Debian packages
  make install         install helpers and man pages
                       (PREFIX=$(PREFIX), DESTDIR=)
  make uninstall       remove what make install put in place
  make clean           remove the build directory

Options:
  V=1                  show every command
  T=pattern            with make check: only matching tests
endef
export HELP_TEXT

.PHONY: help
help:
	@printf '%s\n' "$$HELP_TEXT"
