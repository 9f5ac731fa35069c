# help.mk: make help lists the targets a user types, one line each.

define HELP_TEXT
mkprov: a production runbook turned into make targets

Getting started:
  make demo            run the whole runbook in the local sandbox
  make check           build everything and run all tests
  make bench           measure speed and memory (B=pattern: some)

The runbook, on one host (HOST=name, FROM=the server it replaces):
  make provision       run every automated phase that is not done
  make plan            read-only: what provisioning would change
  make -n provision    print the helper commands, change nothing
  make status          phases with times and facts (with HOST), or
                       the Server Reference table (without)
  make secrets|server|inventory|...   one phase and what it needs
  make redo-PHASE      delete PHASE's stamp and the later ones, rerun
  make -j4 provision HOSTS="a b c"    several hosts at once

The sandbox (local fakes of the clouds, hosts on 127.0.0.x):
  make sandbox-up | sandbox-down | sandbox-status
  make sandbox-env     shell exports: eval "$$(make -s sandbox-env)"

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
  SITE=file            the site's settings (default: site.mk, else
                       the sandbox's); see mk/site.example
endef
export HELP_TEXT

.PHONY: help
help:
	@printf '%s\n' "$$HELP_TEXT"
