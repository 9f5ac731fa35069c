# bench.mk: make bench measures speed and memory and reports them.
#
# Each bench/bench_*.c is one program linked with the library;
# bench/run drives them, the fixtures and a sandbox of its own on
# 127.90.0.x, prints a table and rewrites bench/RESULTS.md.  Targets
# are measured here, never asserted by a test: make check does not
# run this.  B=pattern runs only the benchmarks whose names contain
# it (json, log, dotenv, http, ssh, sandbox) and leaves RESULTS.md
# alone.

BENCH_SRCS := $(sort $(wildcard $(TOP)/bench/bench_*.c))
BENCH_BINS := $(patsubst $(TOP)/bench/%.c,$(O)/bench/%,$(BENCH_SRCS))
BENCH_COMMON := $(O)/bench/bench.o

B ?=

.PHONY: bench bench-build
bench: bench-build | deps
	$(Q)MKP_BUILD=$(O) MKP_TOP=$(TOP) $(TOP)/bench/run \
		$(if $(B),-b '$(B)')

bench-build: all $(BENCH_BINS)

$(BENCH_COMMON): $(TOP)/bench/bench.c | $(O)/bench
	@$(say) CC bench/bench.c
	$(Q)$(CC) $(MKP_CFLAGS) -I$(TOP)/bench $(CFLAGS) -MMD -MP -c \
		-o $@ $<

$(O)/bench/bench_%: $(TOP)/bench/bench_%.c $(BENCH_COMMON) $(LIB) \
		| $(O)/bench
	@$(say) CCLD bench/bench_$*.c
	$(Q)$(CC) $(MKP_CFLAGS) -I$(TOP)/bench \
		$(call pkg_cflags,$(PKGS)) $(CFLAGS) $(MKP_LDFLAGS) \
		$(LDFLAGS) -MMD -MP -o $@ $< $(BENCH_COMMON) $(LIB) \
		$(call pkg_libs,$(PKGS))

$(O)/bench:
	$(Q)mkdir -p $@

-include $(BENCH_COMMON:.o=.d) $(BENCH_BINS:=.d)
