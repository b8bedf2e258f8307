# Runs one libFuzzer target for SECONDS on a scratch copy of its seed corpus. A crash, leak,
# timeout (5 s per input) or memory blow-up (2 GB) fails the test; the reproducer is left in WORK.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
if(EXISTS ${SEED})
  file(GLOB _seeds ${SEED}/*)
  if(_seeds)
    file(COPY ${_seeds} DESTINATION ${WORK}/corpus)
  endif()
endif()
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix=${WORK}/ ${WORK}/corpus
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzzer ${FUZZER} failed (${rc}); reproducer in ${WORK}")
endif()
