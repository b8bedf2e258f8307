# Helpers that give every fleetward target the same flags, layout and output directory.

# Project-wide flags. They are global (not per target) so that every target can reuse one
# precompiled header: GCC only accepts a PCH built with the same flags and definitions.
string(REPLACE "-D" "" _fleet_httplib_defs "${HTTPLIB_CFLAGS_OTHER}")
get_target_property(_fleet_spdlog_defs spdlog::spdlog INTERFACE_COMPILE_DEFINITIONS)
get_target_property(_fleet_fmt_defs fmt::fmt INTERFACE_COMPILE_DEFINITIONS)
foreach(_list _fleet_spdlog_defs _fleet_fmt_defs)
  if(NOT ${_list})
    set(${_list} "")
  endif()
endforeach()
add_compile_definitions(PQXX_HAVE_OPTIONAL ${_fleet_httplib_defs} ${_fleet_spdlog_defs}
                        ${_fleet_fmt_defs})
set(FLEET_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough -Wformat=2 -Wmisleading-indentation
    -Wduplicated-cond -Wlogical-op
    # GCC 12 warns on designated initializers that leave members at their defaults, which is the
    # point of options structs (Abseil tip #173).
    -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  list(REMOVE_ITEM FLEET_WARNINGS -Wduplicated-cond -Wlogical-op)
endif()
if(FLEET_WERROR)
  list(APPEND FLEET_WARNINGS -Werror)
endif()
add_compile_options(${FLEET_WARNINGS})

if(FLEET_SANITIZE)
  add_compile_options(-fsanitize=${FLEET_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${FLEET_SANITIZE})
endif()

set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)

# One precompiled header with the heavy third-party headers, shared by every project target.
if(FLEET_USE_PCH)
  add_library(fleet_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
  target_link_libraries(fleet_pch PRIVATE fleet::pqxx nlohmann_json::nlohmann_json spdlog::spdlog)
  target_precompile_headers(fleet_pch PRIVATE ${CMAKE_CURRENT_LIST_DIR}/pch.h)
endif()

function(_fleet_use_pch target)
  if(FLEET_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM fleet_pch)
  endif()
endfunction()

# fleet_library(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
# Builds static library fleet_<name> (alias fleet::<name>) from libs/<name>, whose public headers
# live in libs/<name>/include/<name>/.
function(fleet_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(fleet_${name} STATIC ${ARG_SOURCES})
  add_library(fleet::${name} ALIAS fleet_${name})
  target_include_directories(fleet_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                           PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(fleet_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  _fleet_use_pch(fleet_${name})
endfunction()

# fleet_executable(<name> SOURCES ... [DEPS ...])
# Builds bin/<name>. Installed to bin/ unless NO_INSTALL is given.
function(fleet_executable name)
  cmake_parse_arguments(ARG "NO_INSTALL" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  _fleet_use_pch(${name})
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${name} RUNTIME DESTINATION bin)
  endif()
endfunction()
