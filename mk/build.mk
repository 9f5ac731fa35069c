# build.mk: the helpers and the library they share.
#
# helpers/lib/*.c become $(O)/libmkp.a; each helpers/mkp-*.c is one
# program, $(O)/bin/mkp-*.  Dependencies on headers come from the
# compiler (-MMD), so touching a header rebuilds what includes it.

LIB_SRCS := $(sort $(wildcard $(TOP)/helpers/lib/*.c))
LIB_OBJS := $(patsubst $(TOP)/helpers/lib/%.c,$(O)/lib/%.o,$(LIB_SRCS))
LIB := $(O)/libmkp.a

HELPER_SRCS := $(sort $(wildcard $(TOP)/helpers/mkp-*.c))
HELPERS := $(patsubst $(TOP)/helpers/%.c,$(O)/bin/%,$(HELPER_SRCS))
HELPER_MANS := $(sort $(wildcard $(TOP)/man/mkp-*.1))
OVERVIEW_MANS := $(sort $(wildcard $(TOP)/man/*.7))

.PHONY: all build install uninstall clean
all build: $(HELPERS) $(LIB)

$(O)/lib/%.o: $(TOP)/helpers/lib/%.c | $(O)/lib
	@$(say) CC lib/$*.c
	$(Q)$(CC) $(MKP_CFLAGS) $(call pkg_cflags,$(PKGS)) $(CFLAGS) \
		-MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@$(say) AR libmkp.a
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(O)/bin/%.o: $(TOP)/helpers/%.c | $(O)/bin
	@$(say) CC $*.c
	$(Q)$(CC) $(MKP_CFLAGS) $(call pkg_cflags,$(PKGS)) $(CFLAGS) \
		-MMD -MP -c -o $@ $<

$(O)/bin/mkp-%: $(O)/bin/mkp-%.o $(LIB)
	@$(say) LD mkp-$*
	$(Q)$(CC) $(MKP_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB) \
		$(call pkg_libs,$(PKGS))

$(O)/lib $(O)/bin:
	$(Q)$(call pkgs-known,$(PKGS)) && mkdir -p $@

install: all
	$(Q)$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man7
	$(Q)$(if $(HELPERS),$(INSTALL) -m 0755 $(HELPERS) \
		$(DESTDIR)$(BINDIR)/,:)
	$(Q)$(if $(HELPER_MANS),$(INSTALL) -m 0644 $(HELPER_MANS) \
		$(DESTDIR)$(MANDIR)/man1/,:)
	$(Q)$(if $(OVERVIEW_MANS),$(INSTALL) -m 0644 $(OVERVIEW_MANS) \
		$(DESTDIR)$(MANDIR)/man7/,:)

uninstall:
	$(Q)rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(HELPERS))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,\
		    $(notdir $(HELPER_MANS))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man7/,\
		    $(notdir $(OVERVIEW_MANS)))
	$(Q)rmdir $(DESTDIR)$(BINDIR) 2>/dev/null || :

clean:
	$(Q)rm -rf $(O)

# Keep helper objects: they are intermediate, but relinking is cheaper
# than recompiling.
.SECONDARY: $(HELPERS:=.o)

-include $(LIB_OBJS:.o=.d) $(HELPERS:=.d)
