# The HTML report's template (templates/report.html) compiled into memgate_runner_core
# as a generated C array, so `memgate report --html` needs no data files at run time.
set(MG_HTML_TEMPLATE ${PROJECT_SOURCE_DIR}/templates/report.html)
set(MG_HTML_GENERATED ${CMAKE_CURRENT_BINARY_DIR}/generated/report_html_template.c)
add_custom_command(
  OUTPUT ${MG_HTML_GENERATED}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/generated
  COMMAND ${CMAKE_COMMAND} -DIN=${MG_HTML_TEMPLATE} -DOUT=${MG_HTML_GENERATED}
          -DNAME=mg__html_template -DHEADER=html_template.h
          -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${MG_HTML_TEMPLATE} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
  COMMENT "Embedding templates/report.html"
  VERBATIM)
target_sources(memgate_runner_core PRIVATE ${MG_HTML_GENERATED})
