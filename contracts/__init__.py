"""What workflows, activities and the API agree on: message types, activity interfaces and
failure types. Imports point one way (api -> workflows -> contracts <- activities), so the
API process never loads database or Cal.com code. Nothing here does I/O."""
