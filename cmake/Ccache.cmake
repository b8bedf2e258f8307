# Use ccache when present. The sloppiness settings let ccache cache translation units that use
# precompiled headers (see docs/benchmarks.md for the measured effect).
find_program(FLEET_CCACHE ccache)
if(FLEET_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${FLEET_CCACHE})
endif()
