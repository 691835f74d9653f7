# MemgateDiscover.cmake: one CTest test per CUnit test, each run under memgate.
#
#   memgate_discover_tests(TARGET
#       [MEMGATE_ARGS arg...]
#       [TEST_PREFIX prefix] [TEST_SUFFIX suffix]
#       [WORKING_DIRECTORY dir]
#       [PROPERTIES name value...]
#       [DISCOVERY_MODE POST_BUILD|PRE_TEST]
#       [DISCOVERY_TIMEOUT seconds]
#       [JSON_DIR dir])
#
# Lists the CUnit tests of the executable TARGET with `memgate list` and registers each
# one as the CTest test "<TEST_PREFIX>SUITE/TEST<TEST_SUFFIX>", which runs
#
#   memgate run -k 'SUITE/TEST' <MEMGATE_ARGS> [--json <JSON_DIR>/<name>.json] $<TARGET_FILE:TARGET>
#
# so `ctest -j`, `ctest -R`, `ctest --output-junit` and CDash see every CUnit test on its
# own. The -k pattern escapes the fnmatch metacharacters * ? [ and \ of the name, so it
# selects exactly that test. A test that CUnit marks inactive is registered as DISABLED.
#
#   MEMGATE_ARGS       options for `memgate run` (--budgets FILE, --leak-bytes SIZE, ...).
#                      Not -k: each test already selects itself.
#   WORKING_DIRECTORY  where the tests and the discovery run (default: the current
#                      binary directory).
#   PROPERTIES         test properties set on every discovered test.
#   DISCOVERY_MODE     POST_BUILD (default, or ${MEMGATE_DISCOVER_TESTS_DISCOVERY_MODE}):
#                      list the tests right after TARGET is linked; a listing failure
#                      fails the build. PRE_TEST: list them when ctest starts, again only
#                      when the binary changed (for binaries that cannot run at build
#                      time); a listing failure becomes the failing test
#                      <TEST_PREFIX><TARGET>_DISCOVERY_FAILED and the other tests run.
#                      A target that is not built yet shows as the test <TARGET>_NOT_BUILT.
#   DISCOVERY_TIMEOUT  seconds `memgate list` may take (default 10).
#   JSON_DIR           each test writes its memgate JSON report to DIR/<name>.json, where
#                      <name> is the CTest name with every character outside
#                      [A-Za-z0-9._+-] replaced by '_'. Relative to the current binary dir.
#
# MEMGATE_ARGS, PROPERTIES and the directories may use generator expressions. Changing
# them needs a reconfigure only, not a rebuild: the list of tests is kept apart from the
# commands, which are written when ctest reads the test files.
#
# The memgate executable is the imported target memgate::cli (find_package(memgate)) or,
# when memgate is part of the same build, its memgate_cli target.
#
# How it works: the discovery stores the raw `memgate list` output in
# <target>_memgate<N>_list.txt; a file that ctest includes (TEST_INCLUDE_FILES) turns it
# into add_test() calls in <target>_memgate<N>_tests.cmake. This same file is run as a
# script (cmake -P) for the POST_BUILD listing and included by ctest for the rest.

if(CMAKE_VERSION VERSION_LESS 3.17)
  message(FATAL_ERROR "MemgateDiscover needs CMake 3.17 or newer (this is ${CMAKE_VERSION})")
endif()
# ctest reads this file with every policy unset (OLD), and the functions below keep the
# policies in force where they are defined: set modern behaviour here, for this file only.
cmake_policy(PUSH)
cmake_policy(VERSION 3.17...3.31)

# Quotes VALUE as a CMake bracket argument ([=[...]=]) long enough that nothing inside it
# closes it early, so any text (; $ " \ [ ]) reaches the command unchanged.
function(_memgate_bracket out value)
  set(eq "")
  while(TRUE)
    string(FIND "${value}]" "]${eq}]" pos)
    if(pos EQUAL -1)
      break()
    endif()
    string(APPEND eq "=")
  endwhile()
  set(${out} "[${eq}[${value}]${eq}]" PARENT_SCOPE)
endfunction()

# Sets OUT to " [[e1]] [[e2]] ...", one bracket argument per element of the list variable
# LIST_VAR. Elements that hold an escaped ';' (PARSE_ARGV keeps "a;b" as one element) stay
# whole.
function(_memgate_bracket_list out list_var)
  set(text "")
  foreach(arg IN LISTS ${list_var})
    _memgate_bracket(q "${arg}")
    string(APPEND text " ${q}")
  endforeach()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(memgate_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 _mg ""
    "TEST_PREFIX;TEST_SUFFIX;WORKING_DIRECTORY;DISCOVERY_MODE;DISCOVERY_TIMEOUT;JSON_DIR"
    "MEMGATE_ARGS;PROPERTIES")
  if(_mg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "memgate_discover_tests: unknown arguments: ${_mg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "memgate_discover_tests: '${target}' is not a target")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "EXECUTABLE")
    message(FATAL_ERROR "memgate_discover_tests: '${target}' is not an executable (${type})")
  endif()

  # The memgate CLI: installed (imported) or built alongside.
  if(TARGET memgate::cli)
    set(cli memgate::cli)
  elseif(TARGET memgate_cli)
    set(cli memgate_cli)
  else()
    message(FATAL_ERROR "memgate_discover_tests: no memgate executable target; "
      "call find_package(memgate) first (it provides memgate::cli)")
  endif()
  get_target_property(aliased ${cli} ALIASED_TARGET)
  if(aliased)
    set(cli ${aliased})
  endif()
  get_target_property(imported ${cli} IMPORTED)
  if(NOT imported)
    add_dependencies(${target} ${cli}) # the POST_BUILD listing runs it
  endif()

  set(mode "${_mg_DISCOVERY_MODE}")
  if(NOT mode)
    set(mode "${MEMGATE_DISCOVER_TESTS_DISCOVERY_MODE}")
  endif()
  if(NOT mode)
    set(mode POST_BUILD)
  endif()
  if(NOT mode MATCHES "^(POST_BUILD|PRE_TEST)$")
    message(FATAL_ERROR "memgate_discover_tests: DISCOVERY_MODE must be POST_BUILD or PRE_TEST, not '${mode}'")
  endif()
  set(timeout "${_mg_DISCOVERY_TIMEOUT}")
  if(timeout STREQUAL "")
    set(timeout 10)
  endif()
  if(NOT timeout MATCHES "^[0-9]+(\\.[0-9]+)?$" OR timeout EQUAL 0)
    message(FATAL_ERROR "memgate_discover_tests: DISCOVERY_TIMEOUT must be a positive number of seconds, not '${timeout}'")
  endif()

  set(workdir "${_mg_WORKING_DIRECTORY}")
  if(workdir STREQUAL "")
    set(workdir "${CMAKE_CURRENT_BINARY_DIR}")
  elseif(NOT IS_ABSOLUTE "${workdir}" AND NOT workdir MATCHES "^\\$<")
    get_filename_component(workdir "${workdir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  set(json_dir "${_mg_JSON_DIR}")
  if(NOT json_dir STREQUAL "" AND NOT IS_ABSOLUTE "${json_dir}" AND NOT json_dir MATCHES "^\\$<")
    get_filename_component(json_dir "${json_dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  endif()

  # One set of files per call, so a target may be discovered several times (say, with
  # different budgets and prefixes).
  get_property(count TARGET ${target} PROPERTY MEMGATE_DISCOVER_COUNT)
  if(NOT count)
    set(count 0)
  endif()
  math(EXPR count "${count} + 1")
  set_property(TARGET ${target} PROPERTY MEMGATE_DISCOVER_COUNT ${count})
  set(base "${CMAKE_CURRENT_BINARY_DIR}/${target}_memgate${count}")
  get_property(multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  set(cfg "")
  if(multi_config)
    set(cfg "-$<CONFIG>")
  endif()
  set(list_file "${base}_list${cfg}.txt")
  set(module "${CMAKE_CURRENT_FUNCTION_LIST_FILE}")

  # The file ctest includes: the settings, then the registration.
  _memgate_bracket_list(run_args _mg_MEMGATE_ARGS)
  _memgate_bracket_list(properties _mg_PROPERTIES)
  set(content "# Generated by memgate_discover_tests(${target}). Do not edit.\n")
  foreach(pair
      "target;${target}" "mode;${mode}" "timeout;${timeout}" "workdir;${workdir}"
      "prefix;${_mg_TEST_PREFIX}" "suffix;${_mg_TEST_SUFFIX}" "json_dir;${json_dir}"
      "list_file;${list_file}" "tests_file;${base}_tests${cfg}.cmake"
      "run_args;${run_args}" "properties;${properties}")
    # Split at the first ';' only: the value may hold more.
    string(FIND "${pair}" ";" semi)
    string(SUBSTRING "${pair}" 0 ${semi} key)
    math(EXPR semi "${semi} + 1")
    string(SUBSTRING "${pair}" ${semi} -1 value)
    _memgate_bracket(q "${value}")
    string(APPEND content "set(_mg_${key} ${q})\n")
  endforeach()
  string(APPEND content
    "set(_mg_memgate [==[$<TARGET_FILE:${cli}>]==])\n"
    "set(_mg_binary [==[$<TARGET_FILE:${target}>]==])\n"
    "set(_mg_cmake [==[${CMAKE_COMMAND}]==])\n"
    "set(_mg_module [==[${module}]==])\n"
    "include(\"\${_mg_module}\")\n"
    "_memgate_register_tests()\n")
  set(include_file "${base}_include.cmake")
  if(multi_config)
    file(GENERATE OUTPUT "${base}_include-$<CONFIG>.cmake" CONTENT "${content}")
    file(WRITE "${include_file}"
      "if(EXISTS \"${base}_include-\${CTEST_CONFIGURATION_TYPE}.cmake\")\n"
      "  include(\"${base}_include-\${CTEST_CONFIGURATION_TYPE}.cmake\")\n"
      "else()\n"
      "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\n"
      "endif()\n")
  else()
    file(GENERATE OUTPUT "${include_file}" CONTENT "${content}")
  endif()
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")

  if(mode STREQUAL "POST_BUILD")
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND "${CMAKE_COMMAND}"
        "-D_MEMGATE_DISCOVER_LIST=ON"
        "-D_MEMGATE_EXE=$<TARGET_FILE:${cli}>"
        "-D_MEMGATE_BINARY=$<TARGET_FILE:${target}>"
        "-D_MEMGATE_LIST_FILE=${list_file}"
        "-D_MEMGATE_WORKDIR=${workdir}"
        "-D_MEMGATE_TIMEOUT=${timeout}"
        -P "${module}"
      BYPRODUCTS "${list_file}"
      VERBATIM)
  endif()
endfunction()

# OUT = the modification time and size of FILE: a binary put back with an older time
# (mv, a restored cache) still counts as changed.
function(_memgate_file_stamp out file)
  file(TIMESTAMP "${file}" mtime "%Y-%m-%dT%H:%M:%S" UTC)
  file(SIZE "${file}" size)
  set(${out} "#stamp ${mtime} ${size}" PARENT_SCOPE)
endfunction()

# Runs `memgate list BINARY` and stores its output in LIST_FILE after a first line with
# the binary's stamp; ERROR_VAR is set to "" then. When the listing fails, the list file
# is removed (no stale list survives) and ERROR_VAR names the binary and repeats
# memgate's message.
function(_memgate_list_tests memgate binary list_file workdir timeout error_var)
  _memgate_file_stamp(stamp "${binary}")
  execute_process(COMMAND "${memgate}" list "${binary}"
    WORKING_DIRECTORY "${workdir}"
    TIMEOUT ${timeout}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0")
    file(REMOVE "${list_file}")
    set(${error_var} "memgate_discover_tests: listing the tests of ${binary} failed \
(`${memgate} list ${binary}` in ${workdir}: ${rc})\n${err}${out}" PARENT_SCOPE)
    return()
  endif()
  file(WRITE "${list_file}" "${stamp}\n${out}")
  set(${error_var} "" PARENT_SCOPE)
endfunction()

# Called by ctest (through the generated include file) with the _mg_* settings in scope:
# lists the tests first in PRE_TEST mode when the binary changed since the last listing, then
# writes one add_test() per listed test into _mg_tests_file and includes it.
function(_memgate_register_tests)
  if(NOT EXISTS "${_mg_binary}")
    add_test("${_mg_target}_NOT_BUILT" "${_mg_target}_NOT_BUILT")
    return()
  endif()
  if(_mg_mode STREQUAL "PRE_TEST")
    set(listed_stamp "")
    if(EXISTS "${_mg_list_file}")
      file(STRINGS "${_mg_list_file}" listed_stamp LIMIT_COUNT 1)
    endif()
    _memgate_file_stamp(stamp "${_mg_binary}")
    if(NOT listed_stamp STREQUAL stamp OR "${_mg_binary}" IS_NEWER_THAN "${_mg_list_file}")
      _memgate_list_tests("${_mg_memgate}" "${_mg_binary}" "${_mg_list_file}" "${_mg_workdir}"
        "${_mg_timeout}" error)
      if(error)
        # Not a fatal error here: that would stop ctest before any test ran. One failing
        # test reports the problem, and the other tests still run.
        file(WRITE "${_mg_list_file}.error" "${error}")
        add_test("${_mg_prefix}${_mg_target}_DISCOVERY_FAILED" "${_mg_cmake}"
          "-D_MEMGATE_REPORT_ERROR=${_mg_list_file}.error" -P "${_mg_module}")
        return()
      endif()
      file(REMOVE "${_mg_list_file}.error")
    endif()
  elseif(NOT EXISTS "${_mg_list_file}")
    add_test("${_mg_target}_NOT_BUILT" "${_mg_target}_NOT_BUILT")
    return()
  endif()
  file(READ "${_mg_list_file}" listing)

  # Lines are "SUITE/TEST[ (inactive)]<TAB>BINARY". Names may hold ';', '[' and ']',
  # which CMake's list splitting would act on: park them as control characters while the
  # text is split into lines.
  string(ASCII 1 semi_ph)
  string(ASCII 2 open_ph)
  string(ASCII 3 close_ph)
  string(REPLACE ";" "${semi_ph}" listing "${listing}")
  string(REPLACE "[" "${open_ph}" listing "${listing}")
  string(REPLACE "]" "${close_ph}" listing "${listing}")
  string(REPLACE "\n" ";" lines "${listing}")
  set(binary_key "${_mg_binary}")
  string(REPLACE ";" "${semi_ph}" binary_key "${binary_key}")
  string(REPLACE "[" "${open_ph}" binary_key "${binary_key}")
  string(REPLACE "]" "${close_ph}" binary_key "${binary_key}")

  _memgate_bracket(q_memgate "${_mg_memgate}")
  _memgate_bracket(q_binary "${_mg_binary}")
  _memgate_bracket(q_workdir "${_mg_workdir}")
  if(NOT _mg_json_dir STREQUAL "")
    file(MAKE_DIRECTORY "${_mg_json_dir}")
  endif()
  set(code "# Generated from ${_mg_list_file} when ctest started. Do not edit.\n")
  set(json_names "")
  foreach(line IN LISTS lines)
    # Anything else the program printed on stdout is not a test line.
    string(FIND "${line}" "\t" tab REVERSE)
    if(tab LESS 1)
      continue()
    endif()
    math(EXPR after "${tab} + 1")
    string(SUBSTRING "${line}" ${after} -1 listed_binary)
    if(NOT listed_binary STREQUAL binary_key)
      continue()
    endif()
    string(SUBSTRING "${line}" 0 ${tab} full)
    string(REPLACE "${semi_ph}" ";" full "${full}")
    string(REPLACE "${open_ph}" "[" full "${full}")
    string(REPLACE "${close_ph}" "]" full "${full}")
    set(disabled "")
    string(LENGTH "${full}" len)
    if(len GREATER 11)
      math(EXPR cut "${len} - 11")
      string(SUBSTRING "${full}" ${cut} -1 tail)
      if(tail STREQUAL " (inactive)")
        string(SUBSTRING "${full}" 0 ${cut} full)
        set(disabled " DISABLED TRUE")
      endif()
    endif()

    # fnmatch pattern that matches this name only: backslash first, then * ? [.
    string(REPLACE "\\" "\\\\" pattern "${full}")
    string(REPLACE "*" "\\*" pattern "${pattern}")
    string(REPLACE "?" "\\?" pattern "${pattern}")
    string(REPLACE "[" "\\[" pattern "${pattern}")

    set(name "${_mg_prefix}${full}${_mg_suffix}")
    _memgate_bracket(q_name "${name}")
    _memgate_bracket(q_pattern "${pattern}")
    set(json "")
    if(NOT _mg_json_dir STREQUAL "")
      string(REGEX REPLACE "[^A-Za-z0-9._+-]" "_" file_name "${name}")
      set(unique "${file_name}")
      set(n 1)
      while(unique IN_LIST json_names)
        math(EXPR n "${n} + 1")
        set(unique "${file_name}_${n}")
      endwhile()
      list(APPEND json_names "${unique}")
      _memgate_bracket(q_json "${_mg_json_dir}/${unique}.json")
      set(json " --json ${q_json}")
    endif()
    string(APPEND code
      "add_test(${q_name} ${q_memgate} run -k ${q_pattern}${_mg_run_args}${json} ${q_binary})\n"
      "set_tests_properties(${q_name} PROPERTIES WORKING_DIRECTORY ${q_workdir}${disabled}${_mg_properties})\n")
  endforeach()

  set(old "")
  if(EXISTS "${_mg_tests_file}")
    file(READ "${_mg_tests_file}" old)
  endif()
  if(NOT old STREQUAL code)
    file(WRITE "${_mg_tests_file}" "${code}")
  endif()
  include("${_mg_tests_file}")
endfunction()

# Script mode (cmake -P MemgateDiscover.cmake):
#  - the POST_BUILD listing, whose failure fails the build:
#      -D_MEMGATE_DISCOVER_LIST=ON -D_MEMGATE_EXE=... -D_MEMGATE_BINARY=...
#      -D_MEMGATE_LIST_FILE=... -D_MEMGATE_WORKDIR=... -D_MEMGATE_TIMEOUT=...
#  - the test that stands for a failed PRE_TEST listing: -D_MEMGATE_REPORT_ERROR=FILE
#    prints the error kept in FILE and fails.
if(CMAKE_SCRIPT_MODE_FILE AND _MEMGATE_DISCOVER_LIST)
  _memgate_list_tests("${_MEMGATE_EXE}" "${_MEMGATE_BINARY}" "${_MEMGATE_LIST_FILE}"
    "${_MEMGATE_WORKDIR}" "${_MEMGATE_TIMEOUT}" error)
  if(error)
    message(FATAL_ERROR "${error}")
  endif()
elseif(CMAKE_SCRIPT_MODE_FILE AND _MEMGATE_REPORT_ERROR)
  file(READ "${_MEMGATE_REPORT_ERROR}" error)
  message(FATAL_ERROR "${error}")
endif()

cmake_policy(POP)
