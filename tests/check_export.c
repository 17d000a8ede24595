#include "check_main.h"
static Suite *export_suite(void) { return suite_create("export"); }
MLP_CHECK_MAIN(export_suite)
