"""Answers over a corpus of many reports: each question part is restricted to the reports it names,
every sentence says which report it comes from, and two years of one place are joined.

- A place no report covers gets a refusal that lists the reports there are (``scope``).
- A part selecting one report is answered from it; parts selecting different reports (a 2022
  target, then its outcome in the 2023 report) are answered each from its own (``router``).
- A part that several reports could answer is answered per report (at most three), each labelled
  with its place and year; two years' figures of one place are compared when the question asks.
- A figure answer that measures something other than what was asked is refused (``figures``).
- The report's opening lines and the tracker's targets answer without retrieval (``direct``).
- «目标完成了吗» adds the outcome the next year's report gives; «哪些没完成» lists the targets the
  promise tracker marks missed (``promises``).

Figures of two reports never share a sentence without their labels.
"""
