# check.mk: the tests.
#
# Each tests/unit/check_*.c is a Check suite linked with libmkp; each
# tests/e2e/t*.sh is an end-to-end script.  Both speak TAP, and
# tests/run counts them and ends with "N passed, N failed".  Logs stay
# in $(O)/tests/log for reading after a failure.

UNIT_SRCS := $(sort $(wildcard $(TOP)/tests/unit/check_*.c))
UNIT_BINS := $(patsubst $(TOP)/tests/unit/%.c,$(O)/tests/%,$(UNIT_SRCS))
E2E_TESTS := $(sort $(wildcard $(TOP)/tests/e2e/t[0-9]*.sh \
	$(TOP)/tests/e2e/t[0-9]*.py))

# T=pattern runs only the tests whose names contain it.
T ?=

.PHONY: check unit-tests
check: deps
	$(Q)$(MAKE) --no-print-directory $(if $(filter 1,$(V)),,-s) \
		all unit-tests
	$(Q)MKP_BUILD=$(O) MKP_TOP=$(TOP) $(TOP)/tests/run \
		$(if $(filter 1,$(V)),-v) $(if $(T),-t '$(T)') \
		$(UNIT_BINS) $(E2E_TESTS)

unit-tests: $(UNIT_BINS)

$(O)/tests/check_%: $(TOP)/tests/unit/check_%.c $(LIB) | $(O)/tests
	@$(say) CC tests/check_$*.c
	$(Q)$(CC) $(MKP_CFLAGS) $(call pkg_cflags,$(PKGS) $(CHECK_PKGS)) \
		$(CFLAGS) -MMD -MP -o $@ $< $(LIB) \
		$(call pkg_libs,$(PKGS) $(CHECK_PKGS))

$(O)/tests:
	$(Q)$(call pkgs-known,$(CHECK_PKGS)) && mkdir -p $@

-include $(UNIT_BINS:=.d)
