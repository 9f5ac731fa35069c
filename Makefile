# mkprov: a production runbook turned into make targets.
#
# This file only sets the stage; the fragments in mk/ hold the rules:
#   mk/config.mk  compiler, flags, verbosity, directories
#   mk/build.mk   the helpers, their library, install and uninstall
#   mk/deps.mk    the Debian packages mkprov needs, installed on demand
#   mk/check.mk   unit and end-to-end tests
#   mk/bench.mk   make bench: speed and memory, reported in README.md
#   mk/pipeline.mk  the runbook's phases as stamp files, the lock
#   mk/site.mk    the site's settings, checked as they are read
#   mk/sandbox.mk the sandbox world: local fakes and hosts
#   mk/phase-*.mk one fragment per phase
#   mk/targets.mk the goals people type: provision, redo-PHASE, ...
#   mk/status.mk  make status: phases, times, facts; no API calls
#   mk/demo.mk    make demo: the whole runbook in the sandbox
#   mk/help.mk    make help

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

include $(TOP)/mk/config.mk
include $(TOP)/mk/deps.mk
include $(TOP)/mk/build.mk
include $(TOP)/mk/check.mk
include $(TOP)/mk/bench.mk
include $(TOP)/mk/pipeline.mk
include $(TOP)/mk/site.mk
include $(TOP)/mk/sandbox.mk
include $(sort $(wildcard $(TOP)/mk/phase-*.mk))
include $(TOP)/mk/targets.mk
include $(TOP)/mk/status.mk
include $(TOP)/mk/demo.mk
include $(TOP)/mk/help.mk
