# mkprov: a production runbook turned into make targets.
#
# This file only sets the stage; the fragments in mk/ hold the rules:
#   mk/config.mk  compiler, flags, verbosity, directories
#   mk/build.mk   the helpers, their library, install and uninstall
#   mk/deps.mk    the Debian packages mkprov needs, installed on demand
#   mk/check.mk   unit and end-to-end tests
#   mk/help.mk    make help
# Phases of the runbook arrive as mk/phase-*.mk.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

include $(TOP)/mk/config.mk
include $(TOP)/mk/deps.mk
include $(TOP)/mk/build.mk
include $(TOP)/mk/check.mk
include $(wildcard $(TOP)/mk/sandbox.mk $(TOP)/mk/phase-*.mk)
include $(TOP)/mk/help.mk
